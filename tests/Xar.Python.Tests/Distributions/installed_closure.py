"""Oracle for installed-environment closures: importlib.metadata finds the distributions in the
given site directories only, pip's vendored packaging parses requirements and evaluates markers
(with extra = "" for a distribution's base requirements and each requested extra), as pip does.

stdin: {"paths": [site directories], "roots": [requirement strings]}
stdout: {"distributions": {normalized name: {"version", "files"}}, "missing": [[req, by]],
         "conflicts": [[req, by, version]]}; files are the distribution's files inside its site
directory that exist, relative to it, without __pycache__.
"""
import json
import os
import sys
import importlib.metadata as md
from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name

request = json.load(sys.stdin)
paths = request["paths"]


def find(name):
    return next(iter(md.distributions(name=name, path=paths)), None)


def files_of(dist):
    site = os.path.normpath(str(dist.locate_file("")))
    found = []
    for f in dist.files or []:
        absolute = os.path.normpath(os.path.join(site, str(f)))
        if not absolute.startswith(site + os.sep) or "__pycache__" in absolute.split(os.sep):
            continue
        if os.path.lexists(absolute) and not os.path.isdir(absolute) or os.path.islink(absolute):
            found.append(os.path.relpath(absolute, site))
    return sorted(set(found))


queue = []
for text in request["roots"]:
    req = Requirement(text)
    if req.marker is None or req.marker.evaluate({"extra": ""}):
        queue.append((req, "the request"))
seen = {}
missing, conflicts = [], []
index = 0
while index < len(queue):
    req, by = queue[index]
    index += 1
    name = canonicalize_name(req.name)
    dist = find(req.name)
    if dist is None:
        missing.append([str(req), by])
        continue
    if not req.specifier.contains(dist.version, prereleases=True):
        conflicts.append([str(req), by, dist.version])
    extras = {canonicalize_name(e) for e in req.extras}
    if name in seen:
        contexts = sorted(extras - seen[name])
        seen[name] |= extras
    else:
        seen[name] = set(extras)
        contexts = [""] + sorted(extras)
    for context in contexts:
        label = dist.metadata["Name"] + ("[%s]" % context if context else "")
        for text in dist.requires or []:
            r = Requirement(text)
            applies = (context == "") if r.marker is None else r.marker.evaluate({"extra": context})
            if applies:
                queue.append((r, "%s %s" % (label, dist.version)))

print(json.dumps({
    "distributions": {n: {"version": find(n).version, "files": files_of(find(n))} for n in seen},
    "missing": missing,
    "conflicts": conflicts,
}))
