# packaging.version.Version for each string: validity, normalized form and parts, and the rank of
# each valid version in packaging's total order (equal versions share a rank).
import json
import sys

from pip._vendor.packaging.version import InvalidVersion, Version


def describe(version):
    return {
        "str": str(version),
        "public": version.public,
        "base_version": version.base_version,
        "epoch": str(version.epoch),
        "release": [str(part) for part in version.release],
        "pre": None if version.pre is None else version.pre[0] + str(version.pre[1]),
        "post": None if version.post is None else str(version.post),
        "dev": None if version.dev is None else str(version.dev),
        "local": version.local,
        "is_prerelease": version.is_prerelease,
        "is_postrelease": version.is_postrelease,
        "is_devrelease": version.is_devrelease,
    }


def main():
    parsed = []
    for text in json.load(sys.stdin)["versions"]:
        try:
            parsed.append(Version(text))
        except InvalidVersion:
            parsed.append(None)
    ranks = {version: rank for rank, version in enumerate(sorted({v for v in parsed if v is not None}))}
    answers = []
    for version in parsed:
        if version is None:
            answers.append(None)
        else:
            answer = describe(version)
            answer["rank"] = ranks[version]
            answers.append(answer)
    json.dump(answers, sys.stdout)


main()
