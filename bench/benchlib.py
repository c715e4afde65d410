"""Shared helpers for the bench/ commands: building xar, measuring a command, recording figures."""
import os, re, subprocess, time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "benchmarks.md"


def build_xar_cli():
    """Publishes the xar CLI as users get it (Release, Native AOT, scripts/pack) and returns the executable's path."""
    out = REPO / ".artifacts" / "xar"
    subprocess.run(["dotnet", "publish", str(REPO / "src/Xar.Cli"), "-c", "Release", "-r", "linux-x64",
                    "-o", str(out), "--nologo", "-v", "quiet"], check=True, stdout=subprocess.DEVNULL)
    return str(out / "xar")


def measure(cmd, env=None):
    """Runs cmd (with env as its environment, if given); returns wall seconds, CPU seconds (user+sys of the process tree) and peak RSS (KiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss}


def load_note():
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    return f"Load average at the end: {load} on {os.cpu_count()} cores."


def record_section(title, body):
    """Replaces (or appends) the section `## title` of docs/benchmarks.md."""
    DOC.parent.mkdir(exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\nFigures written by the commands in bench/. Ratios are ours ÷ the baseline: below 1 is better.\n"
    section = f"## {title}\n\n{body}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text)
    print(f"recorded in {DOC.relative_to(REPO)}")
