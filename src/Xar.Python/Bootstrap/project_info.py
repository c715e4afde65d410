"""Prints the distribution name of a project directory whose pyproject.toml has no [project]
name, from setup.cfg's [metadata] or, failing that, `setup.py --name`. Runs under the target
interpreter: setup.py is Python code. (pyproject.toml itself xar reads in C#.)"""
import os
import sys

project = sys.argv[1]
name = None
if os.path.exists(os.path.join(project, "setup.cfg")):
    import configparser

    config = configparser.ConfigParser()
    config.read(os.path.join(project, "setup.cfg"))
    name = config.get("metadata", "name", fallback=None)
if name is None and os.path.exists(os.path.join(project, "setup.py")):
    import subprocess

    out = subprocess.run([sys.executable, "setup.py", "--name"], cwd=project, capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    name = lines[-1].strip() if out.returncode == 0 and lines else None
print(name or "")
