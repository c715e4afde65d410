/* The ELF target of the launcher tests; Targets/target.sh behaves the same. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void copy(FILE *from) {
    int c;
    while ((c = fgetc(from)) != EOF)
        putchar(c);
}

int main(int argc, char **argv) {
    const char *mode = getenv("XAR_RUN_MODE"), *fresh = getenv("XARFUSE_NEW_MOUNT");
    printf("mode=%s new=%s\n", mode ? mode : "", fresh ? fresh : "0");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        fflush(stdout);
        if (!strncmp(a, "exit:", 5)) {
            return atoi(a + 5);
        } else if (!strncmp(a, "kill:", 5)) {
            kill(getpid(), atoi(a + 5));
            pause();
        } else if (!strcmp(a, "stdin")) {
            copy(stdin);
        } else if (!strncmp(a, "sleep:", 6)) {
            sleep((unsigned)atoi(a + 6));
        } else if (!strncmp(a, "read:", 5)) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", getenv("XAR_MOUNT"), a + 5);
            FILE *f = fopen(path, "r");
            if (!f) { perror(path); return 3; }
            copy(f);
            fclose(f);
        } else if (!strncmp(a, "env:", 4)) {
            const char *value = getenv(a + 4);
            printf("%s=%s\n", a + 4, value ? value : "");
        } else if (!strcmp(a, "sigign")) {
            FILE *f = fopen("/proc/self/status", "r");
            char line[256];
            while (f && fgets(line, sizeof line, f))
                if (!strncmp(line, "SigIgn:", 7) || !strncmp(line, "SigBlk:", 7))
                    fputs(line, stdout);
            if (f) fclose(f);
        } else {
            printf("arg=[%s]\n", a);
        }
    }
    return 0;
}
