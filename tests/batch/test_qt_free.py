"""studio.batch and `orchestra batch` are headless: they import with Qt made unimportable
(the same check as tests/test_boundary.py, over the batch package and its CLI)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.test_boundary import CHILD, REPO

PACKAGES = '("studio.core", "studio.llm", "studio.tools", "studio.host", "nodes")'


def test_batch_package_and_cli_import_without_qt() -> None:
    assert PACKAGES in CHILD
    child = CHILD.replace(PACKAGES, '("studio.batch",)') + "\nimport studio.cli.batch\nimport studio.batch.ray_engine\n" \
        "assert not [m for m in sys.modules if m.split('.')[0] in BLOCKED], 'Qt got imported'\n"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "studio.batch.local" in r.stdout and "studio.batch.ray_engine" in r.stdout
