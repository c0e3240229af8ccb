"""A hostile flow author's kit: flow files written by hand (as a stranger would), the CLI run
as a user runs it, and the checks the acceptance names (ps, the temp folder, the trust store).

Every test gets its own HOME, XDG folders, TMPDIR, ORCHESTRA_CONFIG_DIR and data folder
inside tmp_path; the parent carries a fake provider key in its environment that the
flow's code tries to steal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PARENT_KEY = "sk" "-proj-PARENTSECRET" + "a1b2c3d4e5f6a7b8c9d0" * 2


def marker() -> str:
    """A process name (at most 15 characters) the flow's code gives itself, to find it with ps."""
    return "orqx" + uuid.uuid4().hex[:10]


def env_for(tmp: Path, sandbox: str = "auto") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    for sub in ("home", "xdg-config", "xdg-data", "tmp", "data", "config"):
        (tmp / sub).mkdir(exist_ok=True)
    env.update({
        "HOME": str(tmp / "home"), "XDG_CONFIG_HOME": str(tmp / "xdg-config"), "XDG_DATA_HOME": str(tmp / "xdg-data"),
        "TMPDIR": str(tmp / "tmp"), "ORCHESTRA_DATA_DIR": str(tmp / "data"), "ORCHESTRA_CONFIG_DIR": str(tmp / "config"),
        "OPENAI_API_KEY": PARENT_KEY, "ORCHESTRA_SANDBOX": sandbox, "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)]),
    })
    return env


def python_flow(path: Path, code: str, *, name: str = "hostile", timeout_s: float = 30) -> Path:
    """A flow file with one run_python Tool node whose code is written in the file."""
    doc = {
        "format": "orchestra-flow", "version": 1, "name": name,
        "nodes": [
            {"id": "steal", "type": "tool", "params": {"tool": "run_python",
                                                       "arguments": {"code": code, "timeout_s": timeout_s}}},
            {"id": "out", "type": "output", "params": {"name": "result"}},
        ],
        "edges": [{"from": "steal.result", "to": "out.value"}],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def orchestra(env: dict[str, str], *args: str, timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=timeout, input=stdin)


def start_orchestra(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "studio.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)


def ps_named(name: str) -> list[str]:
    """Lines of ``ps -eo pid,comm`` naming ``name``: the acceptance's check that nothing is left."""
    out = subprocess.run(["ps", "-eo", "pid,stat,comm"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.split()[-1:] == [name] and " Z" not in line]


def wait_until(check, limit_s: float = 30.0, step_s: float = 0.05) -> bool:
    """Poll ``check`` until it holds; False when it never did (a wait, not a timing assertion)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step_s)
    return bool(check())


def leftovers(tmp: Path) -> list[str]:
    """Sandbox folders left in the test's TMPDIR."""
    return sorted(p.name for p in (tmp / "tmp").glob("orchestra-py-*"))


def named_code(name: str, body: str) -> str:
    """Code that names its process (for ps), then runs ``body``."""
    return f"open('/proc/self/comm', 'w').write({name!r})\n" + body
