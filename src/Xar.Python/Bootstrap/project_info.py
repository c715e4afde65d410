"""Prints, as JSON, what xar needs to know about a project directory: its distribution name and
the [tool.xar] table of pyproject.toml. Runs under the target interpreter (tomllib from 3.11,
else the tomli that pip vendors)."""
import json
import os
import sys

project = sys.argv[1]
name, tool = None, {}
pyproject = os.path.join(project, "pyproject.toml")
if os.path.exists(pyproject):
    try:
        import tomllib
    except ImportError:
        from pip._vendor import tomli as tomllib
    with open(pyproject, "rb") as f:
        data = tomllib.load(f)
    name = data.get("project", {}).get("name")
    tool = data.get("tool", {}).get("xar", {})
if name is None and os.path.exists(os.path.join(project, "setup.cfg")):
    import configparser

    config = configparser.ConfigParser()
    config.read(os.path.join(project, "setup.cfg"))
    name = config.get("metadata", "name", fallback=None)
if name is None and os.path.exists(os.path.join(project, "setup.py")):
    import subprocess

    out = subprocess.run([sys.executable, "setup.py", "--name"], cwd=project, capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    name = lines[-1].strip() if out.returncode == 0 and lines else None
json.dump({"name": name, "tool": tool}, sys.stdout)
