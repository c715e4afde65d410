# packaging.utils.parse_wheel_filename for each file name: name, version, build tag and tags.
import json
import sys

from pip._vendor.packaging.utils import InvalidWheelFilename, parse_wheel_filename


def main():
    answers = []
    for name in json.load(sys.stdin)["wheels"]:
        try:
            project, version, build, tags = parse_wheel_filename(name)
        except InvalidWheelFilename:
            answers.append(None)
            continue
        answers.append({
            "name": project,
            "version": str(version),
            "build": None if not build else [str(build[0]), build[1]],
            "tags": sorted(str(tag) for tag in tags),
        })
    json.dump(answers, sys.stdout)


main()
