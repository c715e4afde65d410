# packaging.specifiers for each specifier and specifier set: validity, printed form, pre-release
# default, containment of each pool version with prereleases None/True/False, and filter results.
# Codes: "1"/"0" for True/False, "E" where packaging raised.
import json
import sys

from pip._vendor.packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from pip._vendor.packaging.version import Version

MODES = (None, True, False)


def code(call):
    try:
        return "1" if call() else "0"
    except Exception:
        return "E"


def filtered(spec, pool, prereleases):
    try:
        return [pool.index(v) for v in spec.filter(pool, prereleases=prereleases)]
    except Exception:
        return "E"


def prereleases(spec):
    try:
        value = spec.prereleases
    except Exception:
        return "E"
    return None if value is None else "1" if value else "0"


def describe(spec, pool):
    return {
        "str": str(spec),
        "prereleases": prereleases(spec),
        "contains": "".join(code(lambda: spec.contains(v, prereleases=mode)) for v in pool for mode in MODES),
        "filter": [filtered(spec, pool, mode) for mode in MODES],
    }


def main():
    request = json.load(sys.stdin)
    pool = [Version(v) for v in request["pool"]]
    answers = {"specifiers": [], "sets": []}
    for kind, parse in (("specifiers", Specifier), ("sets", SpecifierSet)):
        for text in request[kind]:
            try:
                spec = parse(text)
            except InvalidSpecifier:
                answers[kind].append(None)
                continue
            answers[kind].append(describe(spec, pool))
    json.dump(answers, sys.stdout)


main()
