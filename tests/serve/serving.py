"""Start the real `orchestra serve` (uvicorn, in a subprocess) on a free loopback port.

Tests talk to it only over HTTP (httpx, the openai package, curl), as any client would.
The child gets its own data and config folders, a token in ORCHESTRA_SERVE_TOKEN (or the
in-memory keyring of tests/support/env_keyring.py) and no API key unless a test gives one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "serve-test-token-6f1d2c9a8b7e"
START_TIMEOUT_S = 90.0  # a loaded 2-core machine may take a while to import litellm


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(tmp: Path, token: str | None = TOKEN, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "ORCHESTRA_SERVE_TOKEN"}
    env.update({
        "ORCHESTRA_DATA_DIR": str(tmp / "data"),
        "ORCHESTRA_CONFIG_DIR": str(tmp / "config"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
        "PYTHON_KEYRING_BACKEND": "support.env_keyring.EnvKeyring",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "PYTHONUNBUFFERED": "1",
    })
    if token is not None:
        env["ORCHESTRA_SERVE_TOKEN"] = token
    env.update(extra)
    return env


class Server:
    """One `orchestra serve` process; ``stop()`` sends SIGTERM and returns its exit code."""

    def __init__(self, tmp: Path, sources: list[Path], *args: str, token: str | None = TOKEN,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        self.log_path = tmp / f"serve-{self.port}.log"
        cmd = [sys.executable, "-m", "studio.cli", "serve", *map(str, sources), "--port", str(self.port), *args]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env or child_env(tmp, token), stdout=self._log,
                                     stderr=subprocess.STDOUT)
        self._wait_ready()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=kw.pop("timeout", 60.0), **kw)

    def async_client(self, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=kw.pop("timeout", 60.0), **kw)

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"orchestra serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                r = httpx.get(f"{self.url}/flows", headers=self.headers, timeout=2.0)
                if r.status_code in (200, 401):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.proc.kill()
        raise RuntimeError(f"orchestra serve did not start:\n{self.log()}")

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def orchestra_run(flow: Path, inputs: dict[str, str], tmp: Path, *args: str) -> dict[str, Any]:
    """`orchestra run FLOW --json` for the same inputs: what the server must answer too."""
    cmd = [sys.executable, "-m", "studio.cli", "run", str(flow), "--json", *args]
    for k, v in inputs.items():
        cmd += ["--input", f"{k}={v}"]
    out = subprocess.run(cmd, cwd=ROOT, env=child_env(tmp), capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout)


def write_flow(folder: Path, name: str, doc: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.flow.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def flow_doc(name: str, nodes: list[dict[str, Any]], edges: list[tuple[str, str]], **top: Any) -> dict[str, Any]:
    """A hand-written flow, optional params left out as a person would."""
    return {"format": "orchestra-flow", "version": 1, "name": name, **top, "nodes": nodes,
            "edges": [{"from": a, "to": b} for a, b in edges]}


def slow_flow(seconds: float, name: str = "Slow") -> dict[str, Any]:
    """topic -> text -> Delay(seconds) -> done: events arrive while it waits."""
    return flow_doc(name, [
        {"id": "topic", "type": "input", "params": {"name": "topic"}},
        {"id": "shout", "type": "template", "params": {"template": "{{ topic | upper }}"}},
        {"id": "wait", "type": "delay", "params": {"seconds": seconds}},
        {"id": "done", "type": "output", "params": {"name": "done"}},
    ], [("topic.value", "shout.topic"), ("shout.text", "wait.value"), ("wait.value", "done.value")])


def approval_flow() -> dict[str, Any]:
    """draft -> Approval -> sent / not_sent."""
    return flow_doc("Approve", [
        {"id": "draft", "type": "input", "params": {"name": "draft"}},
        {"id": "approve", "type": "approval", "params": {"message": "Send {{ value }}?"}},
        {"id": "sent", "type": "output", "params": {"name": "sent"}},
        {"id": "not_sent", "type": "output", "params": {"name": "not_sent"}},
    ], [("draft.value", "approve.value"), ("approve.approved", "sent.value"), ("approve.rejected", "not_sent.value")])


def llm_chat_flow(name: str = "Echo chat", model: str = "gpt-4o-mini", **llm: Any) -> dict[str, Any]:
    """message -> LLM -> reply: a chat flow whose reply streams."""
    return flow_doc(name, [
        {"id": "message", "type": "input", "params": {"name": "message"}},
        {"id": "answer", "type": "llm", "params": {"model": model, "prompt": "{{ message }}", **llm}},
        {"id": "reply", "type": "output", "params": {"name": "reply"}},
    ], [("message.value", "answer.message"), ("answer.text", "reply.value")])


def memory_chat_flow(name: str = "Memory chat") -> dict[str, Any]:
    """message -> Memory -> LLM(messages) -> Remember -> reply (tests/memory's shape); the
    mock reply depends on the turn, so a session's history shows in what it answers."""
    replies = ["Nice to meet you.", "Welcome back: this is our second turn.", "Third turn already."]
    return flow_doc(name, [
        {"id": "message", "type": "input", "params": {"name": "message"}},
        {"id": "memory", "type": "memory", "params": {}},
        {"id": "answer", "type": "llm", "params": {"model": "gpt-4o-mini", "prompt": "{{ message }}",
                                                   "mock_responses": replies, "mock_per": "turn"}},
        {"id": "remember", "type": "memory_save", "params": {}},
        {"id": "reply", "type": "output", "params": {"name": "reply"}},
    ], [("message.value", "answer.message"), ("memory.history", "answer.messages"), ("message.value", "remember.message"),
        ("answer.text", "remember.reply"), ("remember.reply", "reply.value")])


def wait_for(fn, timeout: float = 30.0, interval: float = 0.05):
    """Poll ``fn`` until it returns something truthy (a generous cap, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def sse_events(response) -> "Iterator[tuple[str, str]]":
    """(event, data) pairs from an httpx streaming response, as they arrive."""
    event, data = "message", []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))


def children(pid: int) -> list[int]:
    """Child processes of ``pid`` (Linux /proc)."""
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return out


def child_flow() -> dict[str, Any]:
    """topic -> run_python (a child process sleeping a minute) -> out."""
    code = "import sys, time\nprint('child up', flush=True)\ntime.sleep(60)\nprint(sys.stdin.read())"
    return flow_doc("Child", [
        {"id": "topic", "type": "input", "params": {"name": "topic"}},
        {"id": "sleepy", "type": "tool", "params": {"tool": "run_python", "arguments": {"code": code, "timeout_s": 120}}},
        {"id": "out", "type": "output", "params": {"name": "out"}},
    ], [("topic.value", "sleepy.stdin"), ("sleepy.result", "out.value")])
