"""Helpers for the issue-13 tests: hand-written flow documents (as a stranger writes
them, optional params omitted) and the `orchestra` command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def flow_doc(nodes: list[dict[str, Any]], edges: list[tuple[str, str]] = (), name: str = "robust", **extra: Any) -> dict:
    return {"format": "orchestra-flow", "version": 1, "name": name, "nodes": nodes,
            "edges": [{"from": a, "to": b} for a, b in edges], **extra}


def node(nid: str, type_id: str, **params: Any) -> dict[str, Any]:
    return {"id": nid, "type": type_id, "params": params}


def write_flow(path: Path, nodes: list[dict], edges: list[tuple[str, str]] = (), **extra: Any) -> Path:
    path.write_text(json.dumps(flow_doc(nodes, edges, **extra)), encoding="utf-8")
    return path


def template_flow(path: Path, template: str) -> Path:
    """Input `who` -> Template -> Output `o`."""
    return write_flow(path, [node("who", "input", name="who"), node("t", "template", template=template),
                             node("out", "output", name="o")],
                      [("who.value", "t.who"), ("t.text", "out.value")])


def env(tmp: Path, **more: str) -> dict[str, str]:
    return {**os.environ, "ORCHESTRA_DATA_DIR": str(tmp / "data"), "ORCHESTRA_CONFIG_DIR": str(tmp / "config"),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True", **more}


def limit_memory() -> None:
    """For subprocesses fed hostile files: a build that reads /dev/zero fails at 6 GiB
    instead of taking the shared machine's memory."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))


def orchestra(tmp: Path, *args: Any, timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess:
    """`orchestra ARGS` in a subprocess; args may be bytes (non-UTF-8 arguments)."""
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, cwd=REPO,
                          env=env(tmp), timeout=timeout, preexec_fn=limit_memory, **kw)


def start(tmp: Path, *args: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "studio.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO, env=env(tmp))


def wait_for_line(path: Path, needle: str, proc: subprocess.Popen | None = None, limit_s: float = 60) -> str:
    """Poll ``path`` until a line containing ``needle`` is there (what was flushed so far)."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if path.exists():
            text = path.read_bytes().decode("utf-8", "replace")
            if needle in text:
                return text
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process ended ({proc.returncode}) before {needle!r} reached {path}: "
                                 f"{proc.stderr.read().decode(errors='replace') if proc.stderr else ''}")
        time.sleep(0.02)
    raise AssertionError(f"{needle!r} never reached {path}")


def no_traceback(r: subprocess.CompletedProcess) -> None:
    out = (r.stdout or b"") + (r.stderr or b"")
    text = out.decode("utf-8", "replace") if isinstance(out, bytes) else out
    assert "Traceback" not in text, text[-3000:]


def text(b: bytes | str) -> str:
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b
