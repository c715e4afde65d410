# packaging.tags.sys_tags() for interpreters described by facts instead of the running one: the
# module's sources of facts (sys, sysconfig, platform, glibc, musl, the executable's ELF header)
# are replaced, and the real ordering code runs unchanged.
import contextlib
import json
import sys
import types

from pip._vendor.packaging import _manylinux, _musllinux, tags


def describe(facts):
    version = tuple(facts["version"])
    config = {
        "Py_DEBUG": int(facts["debug"]),
        "Py_GIL_DISABLED": int(facts["free_threaded"]),
        "WITH_PYMALLOC": int(facts["pymalloc"]),
        "Py_UNICODE_SIZE": 4 if facts["wide_unicode"] else 2,
        "EXT_SUFFIX": facts["ext_suffix"],
        "py_version_nodot": "%d%d" % version,
    }
    tags._get_config_var = lambda name, warn=False: config.get(name)
    tags.sys = types.SimpleNamespace(
        version_info=version + (0, "final", 0),
        implementation=types.SimpleNamespace(name=facts["implementation"]),
        maxunicode=0x10FFFF,
        executable="/target/python")
    tags.platform = types.SimpleNamespace(system=lambda: facts["system"])
    tags.sysconfig = types.SimpleNamespace(get_platform=lambda: facts["platform"], get_config_var=config.get)
    tags._linux_platforms.__defaults__ = (facts["is_32bit"],)

    glibc = tuple(facts["glibc"]) if facts["glibc"] else (-1, -1)
    _manylinux._get_glibc_version = lambda: glibc
    elf = facts["elf"]

    @contextlib.contextmanager
    def parse_elf(path):
        yield None if elf is None else types.SimpleNamespace(
            capacity=elf["class"], encoding=elf["data"], machine=elf["machine"], flags=elf["flags"])

    _manylinux._parse_elf = parse_elf
    musl = _musllinux._MuslVersion(*facts["musl"]) if facts["musl"] else None
    _musllinux._get_musl_version = lambda executable: musl


def main():
    request = json.load(sys.stdin)
    # First, with nothing replaced: this machine's real platform tags, for interpreters whose own
    # pip is too old to have packaging.tags (Python 2.7 and 3.6); their ABI comes from their pip.
    legacy = []
    for interpreter in request["legacy"]:
        version = tuple(interpreter["version"])
        platforms = list(tags._linux_platforms())
        legacy.append([str(tag) for tag in tags.cpython_tags(version, [interpreter["abi"]], platforms)]
                      + [str(tag) for tag in tags.compatible_tags(version, "cp%d%d" % version, platforms)])
    described = []
    for facts in request["interpreters"]:
        describe(facts)
        described.append([str(tag) for tag in tags.sys_tags()])
    json.dump({"interpreters": described, "legacy": legacy}, sys.stdout)


main()
