# Real installed distributions read the way pip and the standard library read them: METADATA with
# the email package (compat32, as packaging.metadata does), each Requires-Dist with packaging's
# Requirement, and entry_points.txt with importlib.metadata.
import email.parser
import email.policy
import json
import pathlib
import sys
from importlib.metadata import PathDistribution

from pip._vendor.packaging.requirements import InvalidRequirement, Requirement


def requirement(text):
    try:
        return str(Requirement(text))
    except InvalidRequirement:
        return None


def describe(path):
    directory = pathlib.Path(path)
    with open(directory / "METADATA", encoding="utf-8") as f:
        message = email.parser.Parser(policy=email.policy.compat32).parse(f)
    requires = message.get_all("Requires-Dist") or []
    return {
        "name": message["Name"],
        "version": message["Version"],
        "requires_python": message["Requires-Python"],
        "requires_dist": requires,
        "requirements": [requirement(text) for text in requires],
        "provides_extra": message.get_all("Provides-Extra") or [],
        "body": message.get_payload(),
        "entry_points": [[e.group, e.name, e.module, e.attr, list(e.extras)]
                         for e in PathDistribution(directory).entry_points],
    }


json.dump([describe(path) for path in json.load(sys.stdin)["distributions"]], sys.stdout)
