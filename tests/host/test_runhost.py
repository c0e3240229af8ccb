"""The run host: flows run in a real child process and come back as the same events.

Built-in node types only (the host discovers node types itself, as the studio's would).
"""

from __future__ import annotations

import os
import queue
import signal
import time
from pathlib import Path

import pytest

from studio.core.document import commands as C
from studio.core.document import flowfile
from studio.host import runhost
from studio.core.running.events import Event, read_trace
from studio.core.document.model import FlowModel


def _doc(*steps, name: str = "Host flow") -> dict:
    model = FlowModel()
    stack = C.UndoStack(model)
    stack.push(C.SetFlowInfo(name=name))
    for s in steps:
        stack.push(s)
    return flowfile.to_document(model)


def _delay_flow(seconds: float = 0.0) -> dict:
    return _doc(
        C.AddNode("input", 0, 0, {"name": "x", "type": "text", "default": "hi"}, node_id="x"),
        C.AddNode("delay", 0, 0, {"seconds": seconds}, node_id="wait"),
        C.AddNode("template", 0, 0, {"template": "got {{ v }}"}, node_id="say"),
        C.AddNode("output", 0, 0, {"name": "said"}, node_id="out"),
        C.Connect("x", "value", "wait", "value"),
        C.Connect("wait", "value", "say", "v"),
        C.Connect("say", "text", "out", "value"),
    )


class Host:
    def __init__(self):
        self.inbox: "queue.Queue[dict]" = queue.Queue()
        self.client = runhost.HostClient(self.inbox.put)

    def send_run(self, run_id: str, doc: dict, **options) -> None:
        self.client.send({"op": "run", "run": run_id, "flow": doc, "base_dir": None, "env": dict(os.environ),
                          "options": {"trace": True, **options}})

    def until(self, kind: str, timeout: float = 60.0) -> tuple[dict, list[Event]]:
        got: list[Event] = []
        deadline = time.monotonic() + timeout
        while True:
            msg = self.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
            if msg.get("t") == "events":
                got.extend(Event.from_json(d) for d in msg["events"])
            if msg.get("t") == kind:
                return msg, got


@pytest.fixture
def host(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ORCHESTRA_RUNHOST_WARM", "0")  # these flows make no LLM call
    h = Host()
    yield h
    h.client.close()


def test_a_run_in_the_host_streams_the_events_its_trace_keeps(host):
    host.send_run("r1", _delay_flow(), inputs={"x": "there"})
    msg, events = host.until("finished")
    result = runhost.result_from_json(msg["result"])
    assert result.status == "succeeded" and result.outputs == {"said": "got there"}
    assert result.trace_path is not None and result.trace_path.exists()
    assert events[0].type == "run_started" and events[-1].type == "run_finished"
    from_trace = read_trace(result.trace_path.read_text().splitlines())
    assert [e.to_json() for e in events] == [e.to_json() for e in from_trace]
    assert ("say", ()) in result.results and result.results[("say", ())].status == "done"


def test_cancel_stops_a_run_in_the_host_promptly(host):
    host.send_run("slow", _delay_flow(30))
    deadline = time.monotonic() + 30
    while True:  # wait until the delay node is running
        msg = host.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
        if msg.get("t") == "events" and any(d["type"] == "node_started" and d["node"] == "wait" for d in msg["events"]):
            break
    t0 = time.perf_counter()
    host.client.send({"op": "cancel", "run": "slow"})
    msg, _ = host.until("finished", timeout=5)
    assert time.perf_counter() - t0 < 1.0
    assert msg["result"]["status"] == "cancelled"


def test_approval_round_trip_through_the_host(host):
    doc = _doc(
        C.AddNode("input", 0, 0, {"name": "x", "type": "text", "default": "draft"}, node_id="x"),
        C.AddNode("approval", 0, 0, {"message": "Send {{ value }}?"}, node_id="gate"),
        C.AddNode("output", 0, 0, {"name": "sent"}, node_id="out"),
        C.Connect("x", "value", "gate", "value"),
        C.Connect("gate", "approved", "out", "value"),
    )
    host.send_run("a1", doc)
    deadline = time.monotonic() + 30
    while True:
        msg = host.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
        if msg.get("t") == "events" and any(d["type"] == "approval_requested" for d in msg["events"]):
            break
    from studio.core.catalogue.context import ApprovalDecision

    host.client.send({"op": "approval", "run": "a1", "node": "gate", "scope": [],
                      "decision": runhost.decision_to_json(ApprovalDecision("approve", "edited draft"))})
    msg, _ = host.until("finished")
    assert msg["result"]["status"] == "succeeded"
    assert msg["result"]["outputs"] == {"sent": "edited draft"}


def test_a_broken_flow_is_an_error_and_the_host_lives_on(host):
    host.client.send({"op": "run", "run": "bad", "flow": {"format": "orchestra-flow", "nodes": "oops"},
                      "options": {}})
    msg, _ = host.until("error")
    assert msg["run"] == "bad" and "FlowFileError" in msg["error"]
    host.send_run("good", _delay_flow())
    msg, _ = host.until("finished")
    assert msg["result"]["status"] == "succeeded"


def test_a_host_that_dies_is_reported_once_and_replaced(host):
    host.send_run("r", _delay_flow(30))
    proc = host.client.proc
    assert proc is not None
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    msg, _ = host.until("gone", timeout=10)
    assert msg["code"] != 0
    host.send_run("r2", _delay_flow())  # a new host starts on the next send
    msg, _ = host.until("finished")
    assert msg["result"]["status"] == "succeeded"
    assert host.client.proc is not proc


def test_result_round_trip_keeps_skips_and_scopes():
    from studio.core.running.executor import NodeResult, RunResult
    from studio.core.catalogue.types import SKIP

    r = RunResult("id", "succeeded", {"a": SKIP, "b": [1, 2]}, error_scope=(("each", 2),), trace_path=Path("/tmp/t"),
                  results={("n", (("each", 2),)): NodeResult("n", (("each", 2),), status="done", cost_usd=None)})
    back = runhost.result_from_json(runhost.result_to_json(r))
    assert back.outputs["a"] is SKIP and back.outputs["b"] == [1, 2]
    assert back.error_scope == (("each", 2),) and back.trace_path == Path("/tmp/t")
    assert back.results[("n", (("each", 2),))].cost_usd is None


def test_the_host_redacts_keys_the_studio_did_not_list(host, monkeypatch):
    key = "sk" "-host-secret-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", key)  # travels in the run's environment
    doc = _doc(
        C.AddNode("input", 0, 0, {"name": "x", "type": "text", "default": f"my key is {key}"}, node_id="x"),
        C.AddNode("output", 0, 0, {"name": "echo"}, node_id="out"),
        C.Connect("x", "value", "out", "value"),
    )
    host.send_run("k", doc, secrets=[])  # the studio sent none: the host finds them itself
    msg, _ = host.until("finished")
    trace = Path(msg["result"]["trace_path"]).read_text()
    assert key not in trace and "[redacted]" in trace


def test_stop_during_the_warm_up_ends_the_run_at_once_and_no_node_runs(host):
    """A fresh host imports litellm (seconds) before a flow with an LLM node starts; Stop in
    that time ends the run -- recorded as cancelled -- without waiting for the import."""
    doc = _doc(
        C.AddNode("input", 0, 0, {"name": "x", "type": "text", "default": "hi"}, node_id="x"),
        C.AddNode("llm", 0, 0, {"model": "openai/gpt-4o-mini", "prompt": "Say {{ x }}"}, node_id="ask"),
        C.AddNode("output", 0, 0, {"name": "said"}, node_id="out"),
        C.Connect("x", "value", "ask", "x"),
        C.Connect("ask", "text", "out", "value"),
    )
    host.send_run("w1", doc, mock=True)  # ORCHESTRA_RUNHOST_WARM=0: the import starts with this run
    host.client.send({"op": "cancel", "run": "w1"})
    msg, events = host.until("finished")
    result = runhost.result_from_json(msg["result"])
    assert result.status == "cancelled"
    assert [e.type for e in events] == ["run_started", "run_cancelled"]


def test_a_stop_sent_right_behind_its_run_is_never_lost(host):
    """Run and Stop written back to back (one read of the host's input can hold both):
    the Stop arrives before the run exists and must still stop it. Three times, since
    the two messages race."""
    for i in range(3):
        host.send_run(f"s{i}", _delay_flow(3.0))
        host.client.send({"op": "cancel", "run": f"s{i}"})
        msg, events = host.until("finished", timeout=30)
        result = runhost.result_from_json(msg["result"])
        assert result.status == "cancelled", (i, result.status)
        assert not any(e.type == "node_finished" and e.node == "wait" for e in events)
