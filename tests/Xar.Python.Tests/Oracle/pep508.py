# packaging.markers.Marker and packaging.requirements.Requirement for each string. PEP 685 says
# extra names are compared normalized; packaging normalizes the literal of only the first
# comparison when it prints a marker (it normalizes all of them when evaluating), so the printed
# form here normalizes every comparison with `extra`, as ours does.
import json
import sys

from pip._vendor.packaging import markers, requirements
from pip._vendor.packaging._parser import Value, Variable
from pip._vendor.packaging.markers import InvalidMarker, Marker, UndefinedComparison
from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
from pip._vendor.packaging.utils import canonicalize_name
from pip._vendor.packaging.version import InvalidVersion


def normalize_every_extra(results):
    for index, item in enumerate(results):
        if isinstance(item, list):
            normalize_every_extra(item)
        elif isinstance(item, tuple):
            lhs, op, rhs = item
            if isinstance(lhs, Variable) and lhs.value == "extra" and isinstance(rhs, Value):
                rhs = Value(canonicalize_name(rhs.value))
            elif isinstance(rhs, Variable) and rhs.value == "extra" and isinstance(lhs, Value):
                lhs = Value(canonicalize_name(lhs.value))
            results[index] = (lhs, op, rhs)
    return results


markers._normalize_extra_values = normalize_every_extra
requirements._normalize_extra_values = normalize_every_extra


def evaluate(marker, environment, extra):
    try:
        return "1" if marker.evaluate(dict(environment, extra=extra)) else "0"
    except UndefinedComparison:
        return "U"
    except InvalidVersion:
        return "V"


def main():
    request = json.load(sys.stdin)
    marker_answers = []
    for text in request["markers"]:
        try:
            marker = Marker(text)
        except InvalidMarker:
            marker_answers.append(None)
            continue
        marker_answers.append({
            "str": str(marker),
            "results": "".join(evaluate(marker, environment, extra)
                               for environment in request["environments"] for extra in request["extras"]),
        })
    requirement_answers = []
    for text in request["requirements"]:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            requirement_answers.append(None)
            continue
        requirement_answers.append({
            "name": requirement.name,
            "extras": sorted(requirement.extras),
            "specifier": str(requirement.specifier),
            "url": requirement.url,
            "marker": None if requirement.marker is None else str(requirement.marker),
            "str": str(requirement),
        })
    json.dump({"markers": marker_answers, "requirements": requirement_answers}, sys.stdout)


main()
