"""The serving code is headless: studio.serve and `orchestra serve` import (and serve) with
PySide6, shiboken6 and qasync unimportable, in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

from serving import ROOT
from support.noqt import PRELUDE

CHILD = PRELUDE + r"""
import studio.serve
names = ["studio.serve", "studio.cli.serve"]
for info in pkgutil.walk_packages(studio.serve.__path__, prefix="studio.serve."):
    names.append(info.name)
for name in names:
    importlib.import_module(name)
from studio.cli.main import build_parser
build_parser(only="serve")
assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED], "Qt got imported"
print("\n".join(names))
"""


def test_serving_imports_without_qt():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    modules = r.stdout.split()
    for name in ("app", "auth", "catalogue", "documents", "launcher", "limits", "openai_api", "registry", "runs_api",
                 "schema", "server"):
        assert f"studio.serve.{name}" in modules
