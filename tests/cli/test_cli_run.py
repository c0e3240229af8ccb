"""`orchestra run` end to end in a subprocess: outputs, --json, inputs, approvals, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.core.document.commands import AddNode, Connect, UndoStack
from studio.core.document.flowfile import save_flow
from studio.core.document.model import FlowModel

REPO = Path(__file__).resolve().parents[2]


def build(path: Path, nodes: list[tuple], wires: list[tuple[str, str]], name: str = "cli test") -> Path:
    m = FlowModel(name)
    s = UndoStack(m)
    for node_id, type_id, params in nodes:
        s.push(AddNode(type_id, node_id=node_id, params=params))
    for a, b in wires:
        (an, ap), (bn, bp) = a.split("."), b.split(".")
        s.push(Connect(an, ap, bn, bp))
    save_flow(m, path)
    return path


def orchestra(*args: str, env_extra: dict | None = None, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=timeout, **kw)


@pytest.fixture
def data_env(tmp_path):
    return {"ORCHESTRA_DATA_DIR": str(tmp_path / "data"), "ORCHESTRA_CONFIG_DIR": str(tmp_path / "config")}


@pytest.fixture
def greet(tmp_path) -> Path:
    return build(tmp_path / "greet.flow.json",
                 [("name", "input", {"name": "name", "type": "text"}),
                  ("hello", "template", {"template": "Hello, {{ who }}!"}),
                  ("out", "output", {"name": "greeting"})],
                 [("name.value", "hello.who"), ("hello.text", "out.value")])


def test_run_prints_outputs_and_per_node_table(greet, data_env):
    r = orchestra("run", str(greet), "--input", "name=Ada", env_extra=data_env)
    assert r.returncode == 0, r.stderr
    assert "Hello, Ada!" in r.stdout + r.stderr
    assert "Per node" in r.stdout + r.stderr
    # keyed by the flow's file, like the studio's History of that file
    traces = list((Path(data_env["ORCHESTRA_DATA_DIR"]) / "traces" / "files").glob("*/*.jsonl"))
    assert len(traces) == 1 and traces[0].parent.name.startswith(greet.name.removesuffix(".flow.json").replace("_", "-"))


def test_run_json_document(greet, data_env, tmp_path):
    (tmp_path / "in.json").write_text(json.dumps({"name": "Grace"}))
    r = orchestra("run", str(greet), "--input-file", str(tmp_path / "in.json"), "--json",
                  "--trace", str(tmp_path / "t.jsonl"), env_extra=data_env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] == "succeeded"
    assert doc["outputs"] == {"greeting": "Hello, Grace!"}
    assert doc["nodes"]["hello"]["status"] == "done" and doc["nodes"]["hello"]["runs"] == 1
    assert doc["totals"]["cost_usd"] == 0
    assert (tmp_path / "t.jsonl").exists()


def test_missing_or_unknown_input_is_exit_2(greet, data_env):
    r = orchestra("run", str(greet), env_extra=data_env)
    assert r.returncode == 2 and "needs input(s) name" in r.stderr
    r = orchestra("run", str(greet), "--input", "name=x", "--input", "nmae=y", env_extra=data_env)
    assert r.returncode == 2 and "no input named nmae" in r.stderr


def test_invalid_and_unreadable_flows_are_exit_2(tmp_path, data_env):
    bad = build(tmp_path / "bad.flow.json", [("t", "template", {"template": "{{ x }}"}), ("out", "output", {})],
                [("t.text", "out.value")])
    r = orchestra("run", str(bad), env_extra=data_env)
    assert r.returncode == 2
    assert "template_variable_unbound" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "junk.flow.json").write_text("{not json")
    r = orchestra("run", str(tmp_path / "junk.flow.json"), env_extra=data_env)
    assert r.returncode == 2 and "not valid JSON" in r.stderr and "Traceback" not in r.stderr


def test_failed_run_is_exit_1_naming_the_node(tmp_path, data_env):
    flow = build(tmp_path / "fail.flow.json",
                 [("inp", "input", {"name": "x", "type": "json"}),
                  ("bad", "template", {"template": "{{ v.missing.deeper }}"}),
                  ("out", "output", {})],
                 [("inp.value", "bad.v"), ("bad.text", "out.value")])
    r = orchestra("run", str(flow), "--input", "x={}", env_extra=data_env)
    assert r.returncode == 1
    assert "failed at bad" in r.stderr and "Traceback" not in r.stderr


def test_budget_exceeded_is_exit_3(tmp_path, data_env):
    flow = build(tmp_path / "paid.flow.json",
                 [("inp", "input", {"name": "q", "type": "text"}),
                  ("a", "llm", {"model": "gpt-4o-mini", "prompt": "{{ q }}", "mock_responses": ["x" * 400]}),
                  ("b", "llm", {"model": "gpt-4o-mini", "prompt": "{{ q }}", "mock_responses": ["y"]}),
                  ("out", "output", {})],
                 [("inp.value", "a.q"), ("a.text", "b.q"), ("b.text", "out.value")])
    r = orchestra("run", str(flow), "--mock", "--input", "q=hi", "--budget", "0.000001", "--json", env_extra=data_env)
    assert r.returncode == 3, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] == "budget_exceeded" and doc["error_node"] == "b"
    assert doc["totals"]["cost_usd"] > 0


def test_approve_flags(tmp_path, data_env):
    flow = build(tmp_path / "appr.flow.json",
                 [("inp", "input", {"name": "x", "type": "text"}),
                  ("gate", "approval", {"message": "Send {{ value }}?"}),
                  ("out", "output", {"name": "sent"}), ("rej", "output", {"name": "rejected"})],
                 [("inp.value", "gate.value"), ("gate.approved", "out.value"), ("gate.rejected", "rej.value")])
    r = orchestra("run", str(flow), "--input", "x=mail", "--approve", "all", "--json", env_extra=data_env)
    assert json.loads(r.stdout)["outputs"] == {"sent": "mail"}
    r = orchestra("run", str(flow), "--input", "x=mail", "--approve", "none", "--json", env_extra=data_env)
    assert json.loads(r.stdout)["outputs"] == {"rejected": "mail"}
    r = orchestra("run", str(flow), "--input", "x=mail", "--json", env_extra=data_env, stdin=subprocess.DEVNULL)
    assert json.loads(r.stdout)["outputs"] == {"rejected": "mail"}  # no terminal to ask: never approved silently


def test_ctrl_c_is_exit_130_and_keeps_the_trace(tmp_path, data_env):
    flow = build(tmp_path / "slow.flow.json",
                 [("inp", "input", {"name": "x", "type": "text"}), ("wait", "delay", {"seconds": 30}),
                  ("out", "output", {})],
                 [("inp.value", "wait.value"), ("wait.value", "out.value")])
    trace = tmp_path / "slow.jsonl"
    env = {**os.environ, **data_env}
    p = subprocess.Popen([sys.executable, "-m", "studio.cli", "run", str(flow), "--input", "x=1", "--trace", str(trace)],
                         cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not trace.exists():  # the trace opens as the run starts
        time.sleep(0.05)
    time.sleep(1.5)  # well into the 30 s delay (the trace itself is buffered, so not read here)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert "cancelled" in err
    lines = trace.read_text().splitlines()
    assert json.loads(lines[-1])["type"] == "run_cancelled"
