# Run by the target interpreter (Python 2.7 or 3.x) with -c; prints one JSON object with its
# PEP 508 marker values and the facts PEP 425 tags are computed from. Only the standard library
# is used, and nothing is imported from site-packages.
import json
import os
import platform
import struct
import subprocess
import sys
import sysconfig


def full_version(info):
    # PEP 508's format_full_version: "3.13.0", "3.14.0a1".
    version = "%d.%d.%d" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


def extension_suffixes():
    try:
        from importlib.machinery import EXTENSION_SUFFIXES
        return list(EXTENSION_SUFFIXES)
    except ImportError:
        import imp
        return [suffix for suffix, _, kind in imp.get_suffixes() if kind == imp.C_EXTENSION]


def glibc_version():
    # packaging._manylinux._glibc_version_string: confstr first, then the running libc itself.
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").rsplit()[1]
    except (AttributeError, OSError, ValueError, IndexError):
        pass
    try:
        import ctypes
        gnu_get_libc_version = ctypes.CDLL(None).gnu_get_libc_version
    except (ImportError, OSError, AttributeError):
        return None
    gnu_get_libc_version.restype = ctypes.c_char_p
    version = gnu_get_libc_version()
    return version if isinstance(version, str) else version.decode("ascii")


def elf_header(path):
    # The ELF class, byte order, machine, flags and program interpreter of the interpreter's
    # executable: packaging decides armhf, i686 and musl from these.
    try:
        with open(path, "rb") as f:
            ident = bytearray(f.read(16))
            if len(ident) < 16 or ident[:4] != bytearray(b"\x7fELF") or ident[4] not in (1, 2) or ident[5] not in (1, 2):
                return None
            elf_class, order = ident[4], "<" if ident[5] == 1 else ">"
            header_format = order + ("HHIIIIIHHHHHH" if elf_class == 1 else "HHIQQQIHHHHHH")
            header = struct.unpack(header_format, f.read(struct.calcsize(header_format)))
            machine, flags, phoff, phentsize, phnum = header[1], header[6], header[4], header[8], header[9]
            segment_format = order + ("IIIIIIII" if elf_class == 1 else "IIQQQQQQ")
            interpreter = None
            for index in range(phnum):
                f.seek(phoff + index * phentsize)
                segment = struct.unpack(segment_format, f.read(struct.calcsize(segment_format)))
                if segment[0] == 3:  # PT_INTERP
                    offset, size = (segment[1], segment[4]) if elf_class == 1 else (segment[2], segment[5])
                    f.seek(offset)
                    interpreter = f.read(size).rstrip(b"\0").decode("ascii", "replace")
            return {"class": elf_class, "little_endian": ident[5] == 1, "machine": machine,
                    "flags": flags, "interpreter": interpreter}
    except (IOError, OSError, struct.error):
        return None


def musl_loader_output(elf):
    # A musl dynamic loader run without arguments prints "musl libc (x86_64)\nVersion 1.2.4\n...".
    if elf is None or not elf["interpreter"] or "musl" not in elf["interpreter"]:
        return None
    try:
        process = subprocess.Popen([elf["interpreter"]], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return process.communicate()[1].decode("utf-8", "replace")
    except OSError:
        return None


def installation():
    # Where the interpreter's own files are, for a standalone archive (docs/python-apps.md, section 6):
    # the base interpreter's executable (a venv's is a link to it, or a copy), the standard library,
    # the extension modules directory and the libpython this process mapped, if any.
    version = "%d.%d" % sys.version_info[:2]
    stdlib = os.path.dirname(os.__file__)
    dynload = [p for p in sys.path if os.path.basename(p) == "lib-dynload"]
    base = [os.path.join(sys.base_prefix if hasattr(sys, "base_prefix") else sys.prefix, "bin", "python" + version)]
    if getattr(sys, "_base_executable", None):
        base.append(sys._base_executable)
    executable = next((os.path.realpath(p) for p in base if os.path.isfile(p)), os.path.realpath(sys.executable))
    library = None
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split(None, 5)[5].strip() if len(line.split(None, 5)) == 6 else ""
                if os.path.basename(path).startswith("libpython"):
                    library = path
                    break
    except (IOError, OSError):
        pass
    return {"executable": executable, "stdlib": stdlib, "dynload": dynload[0] if dynload else None,
            "libpython": library, "platlibdir": getattr(sys, "platlibdir", "lib")}


def main():
    implementation = getattr(sys, "implementation", None)
    config = sysconfig.get_config_var
    with_debug = config("Py_DEBUG")
    with_pymalloc = config("WITH_PYMALLOC")
    unicode_size = config("Py_UNICODE_SIZE")
    ext_suffix = config("EXT_SUFFIX")
    elf = elf_header(sys.executable)
    result = {
        "markers": {
            "implementation_name": implementation.name if implementation else "",
            "implementation_version": full_version(implementation.version) if implementation else "0",
            "os_name": os.name,
            "platform_machine": platform.machine(),
            "platform_release": platform.release(),
            "platform_system": platform.system(),
            "platform_version": platform.version(),
            "python_full_version": platform.python_version(),
            "platform_python_implementation": platform.python_implementation(),
            "python_version": ".".join(platform.python_version_tuple()[:2]),
            "sys_platform": sys.platform,
        },
        "interpreter": {
            "implementation": implementation.name if implementation else platform.python_implementation().lower(),
            "version": list(sys.version_info[:3]),
            # The config-variable fallbacks are packaging.tags._cpython_abis's.
            "debug": bool(with_debug) or (with_debug is None and (
                hasattr(sys, "gettotalrefcount") or "_d.pyd" in extension_suffixes())),
            "pymalloc": bool(with_pymalloc) or with_pymalloc is None,
            "wide_unicode": unicode_size == 4 or (unicode_size is None and sys.maxunicode == 0x10FFFF),
            "free_threaded": bool(config("Py_GIL_DISABLED")),
            "ext_suffix": ext_suffix if isinstance(ext_suffix, str) else None,
            "platform": sysconfig.get_platform(),
            "system": platform.system(),
            "pointer_bits": struct.calcsize("P") * 8,
            "glibc": glibc_version(),
            "musl_loader_output": musl_loader_output(elf),
            "executable": sys.executable,
            "elf": elf,
        },
        "installation": installation(),
    }
    sys.stdout.write(json.dumps(result))


main()
