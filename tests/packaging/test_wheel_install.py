"""A regular (non-editable) install works from anywhere: the wheel carries the theme,
the default prices and the example projects, and the code finds them through
importlib.resources (studio/packaged.py), not through the repository's layout.

The wheel is built from a copy of the files git would commit, installed with
``--no-deps`` into a fresh virtualenv whose dependencies come from this test run's
environment through a ``.pth`` line (no network, seconds instead of minutes; the
editable install of the checkout is NOT visible there, because ``.pth`` files of an
added path are not processed). Then ``orchestra validate`` and a mock ``orchestra
run`` of an example run from a folder outside the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _source_copy(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.mark.timeout(600)
def test_the_wheel_installs_and_runs_an_example_outside_the_checkout(tmp_path):
    src = _source_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)],
                   check=True, capture_output=True, timeout=500)
    [wheel] = list(dist.glob("orchestra_studio-*.whl"))

    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "_orchestra_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True, timeout=300)

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(ORCHESTRA_DATA_DIR=str(tmp_path / "data"), ORCHESTRA_CONFIG_DIR=str(tmp_path / "config"),
               LITELLM_LOCAL_MODEL_COST_MAP="True")
    probe = subprocess.run([py, "-c", (
        "import json, studio, studio.packaged as p; "
        "print(json.dumps({'studio': studio.__file__, 'projects': str(p.projects_dir()), "
        "'resources': str(p.resources_dir())}))")], cwd=outside, env=env, capture_output=True, text=True, check=True)
    where = json.loads(probe.stdout)
    for path in where.values():
        assert Path(path).resolve().is_relative_to(env_dir.resolve()), where  # the installed copy, not the checkout
    resources = Path(where["resources"])
    assert (resources / "studio.qss").is_file() and json.loads((resources / "pricing.json").read_text())
    example = Path(where["projects"]) / "support_router.flow.json"
    assert example.is_file()

    orchestra = env_dir / "bin" / "orchestra"
    validated = subprocess.run([orchestra, "validate", str(example)], cwd=outside, env=env, capture_output=True,
                               text=True, timeout=120)
    assert validated.returncode == 0, validated.stderr + validated.stdout
    ran = subprocess.run([orchestra, "run", str(example), "--mock", "--json", "--input",
                          "message=My invoice is wrong, I was charged twice"], cwd=outside, env=env,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["status"] == "succeeded" and result["outputs"]
