"""The native endpoints through a real server and httpx: results equal `orchestra run`'s,
the interface as JSON Schema, 401/413/422/404, detached runs, traces, approvals."""

from __future__ import annotations

import json
import shutil
import subprocess

import httpx
import pytest

from serving import ROOT, orchestra_run, wait_for


def test_flows_lists_each_flow_with_its_interface_as_json_schema(server):
    with server.client() as c:
        r = c.get("/flows")
    assert r.status_code == 200
    flows = {f["name"]: f for f in r.json()["flows"]}
    assert set(flows) == {"hello", "support_router", "slow", "approve", "echo_chat", "memory_chat", "child"}
    hello = flows["hello"]
    assert hello["description"].startswith("A first flow")
    schema = hello["interface"]["inputs"]
    assert schema["properties"]["topic"] == {"type": "string", "description": "What to greet about.", "default": "the sea"}
    assert schema["required"] == [] and schema["additionalProperties"] is False
    assert flows["slow"]["interface"]["inputs"]["required"] == ["topic"]  # no default: required
    assert set(flows["support_router"]["interface"]["outputs"]["properties"]) == {"reply", "route"}
    assert flows["memory_chat"]["chat"] == {"input": "message", "output": "reply", "memory": True}
    assert "path" not in json.dumps(flows).lower().replace("paths", "")  # no server file paths


@pytest.mark.parametrize("flow,inputs", [
    ("hello", {"topic": "mountains"}),
    ("support_router", {"message": "My invoice shows a double charge"}),
    ("support_router", {"message": "What are your opening hours?"}),
])
def test_outputs_equal_orchestra_runs(server, flows_dir, tmp_path, flow, inputs):
    with server.client() as c:
        r = c.post(f"/flows/{flow}/runs", json={"inputs": inputs})
    assert r.status_code == 200, r.text
    doc = r.json()
    expected = orchestra_run(flows_dir / f"{flow}.flow.json", inputs, tmp_path, "--mock")
    assert doc["status"] == expected["status"] == "succeeded"
    assert doc["outputs"] == expected["outputs"]
    # one fold (RunState.node_summary) behind both: the same fields and values, but the timing
    assert set(doc["nodes"]) == set(expected["nodes"])
    for node, summary in doc["nodes"].items():
        assert summary.pop("latency_s") >= 0 and expected["nodes"][node].pop("latency_s") >= 0
        assert summary == expected["nodes"][node]
    assert doc["totals"]["cost_usd"] == expected["totals"]["cost_usd"]
    assert doc["totals"]["tokens_out"] == expected["totals"]["tokens_out"]
    assert doc["run_id"] and doc["links"] == {"run": f"/runs/{doc['run_id']}", "trace": f"/runs/{doc['run_id']}/trace"}


def test_omitted_inputs_take_their_defaults_like_orchestra_run(server, flows_dir, tmp_path):
    with server.client() as c:
        r = c.post("/flows/hello/runs")  # no body at all
    assert r.status_code == 200
    assert r.json()["outputs"] == orchestra_run(flows_dir / "hello.flow.json", {}, tmp_path, "--mock")["outputs"]


def test_every_request_needs_the_token(server):
    for headers in ({}, {"Authorization": "Bearer wrong-token-but-long-enough"}, {"Authorization": f"Basic {server.token}"},
                    {"Authorization": server.token}, {"Authorization": f"Bearer {server.token}x"}):
        for method, path in (("GET", "/flows"), ("POST", "/flows/hello/runs"), ("GET", "/v1/models"),
                             ("GET", "/runs/whatever"), ("GET", "/no/such/path"), ("GET", "/server")):
            r = httpx.request(method, server.url + path, headers=headers, json={})
            assert r.status_code == 401, (headers, path, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert r.json()["error"]["code"] == "unauthorized"


def test_a_body_over_the_limit_gets_413_before_anything_runs(server):
    big = {"inputs": {"topic": "x" * (2 << 20)}}
    with server.client() as c:
        r = c.post("/flows/hello/runs", json=big)
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "request_too_large"
        # a chunked body (no Content-Length) is cut off as well
        chunks = (b'{"inputs": {"topic": "' + b"y" * 65536 for _ in range(40))
        r = c.post("/flows/hello/runs", content=chunks, headers={"Content-Type": "application/json"})
        assert r.status_code == 413


@pytest.mark.parametrize("body,field,reason", [
    ({"inputs": {"topic": 42}}, "topic", "is not of type 'string'"),
    ({"inputs": {"topics": "sea"}}, "topics", "no input of this name"),
    ({"topic": "sea"}, "topic", "unknown field"),
    ({"inputs": ["sea"]}, "inputs", "JSON object"),
    ({"inputs": {}, "session": 5}, "session", "not a string"),
])
def test_bad_inputs_get_422_naming_the_field_and_the_reason(server, body, field, reason):
    with server.client() as c:
        r = c.post("/flows/hello/runs", json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["field"] == field and reason in err["reason"] + err["message"]


def test_missing_required_input_and_broken_json_get_422(server):
    with server.client() as c:
        r = c.post("/flows/slow/runs", json={"inputs": {}})
        assert r.status_code == 422 and r.json()["error"]["field"] == "topic"
        assert "required" in r.json()["error"]["reason"]
        r = c.post("/flows/hello/runs", content=b'{"inputs": {', headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_json"
        r = c.post("/flows/hello/runs?stream=maybe", json={})
        assert r.status_code == 422 and r.json()["error"]["field"] == "stream"


def test_unknown_flows_and_path_tricks_get_404(server):
    with server.client() as c:
        for path in ("/flows/nope/runs", "/flows/..%2F..%2Fprojects%2Fhello/runs", "/flows/hello.flow.json/runs",
                     "/flows/%2Fetc%2Fpasswd/runs", "/runs/000000000000", "/runs/..%2Fflows",
                     "/runs/000000000000/trace"):
            r = c.post(path, json={}) if path.startswith("/flows") else c.get(path)
            assert r.status_code == 404, (path, r.text)
    # a raw, unnormalised `../` (curl --path-as-is) is no way out either
    for raw in ("/flows/../runs", "/flows/../../etc/passwd/runs", "/flows/hello/../hello/runs"):
        out = subprocess.run(["curl", "-s", "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                              "-H", f"Authorization: Bearer {server.token}", "-d", "{}", server.url + raw],
                             capture_output=True, text=True, timeout=30)
        assert out.stdout == "404", (raw, out.stdout)


def test_wait_false_answers_202_and_the_run_can_be_read_later(server):
    with server.client() as c:
        r = c.post("/flows/hello/runs?wait=false", json={"inputs": {"topic": "rivers"}})
        assert r.status_code == 202
        run_id = r.json()["run_id"]
        doc = wait_for(lambda: (d := c.get(f"/runs/{run_id}").json())["status"] != "running" and d)
        assert doc["status"] == "succeeded"
        assert doc["outputs"]["greeting"].startswith("Hello! Here is a thought about rivers")
        trace = c.get(f"/runs/{run_id}/trace").json()
    assert trace["complete"] is True
    types = [e["type"] for e in trace["events"]]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert trace["events"][-1]["data"]["outputs"] == doc["outputs"]


def test_served_runs_write_traces_where_the_studio_history_reads_them(server):
    with server.client() as c:
        run_id = c.post("/flows/hello/runs", json={"inputs": {"topic": "history"}}).json()["run_id"]
    # the flow file's folder of runs (runstate.trace_folder), which the studio's History lists
    data = server.log_path.parent / "data" / "traces" / "files"
    assert [p for p in data.glob("hello-*/*.jsonl") if p.name.endswith(f"-{run_id}.jsonl")]


def test_approval_round_trip_approve_with_an_edit(server):
    with server.client() as c:
        run_id = c.post("/flows/approve/runs?wait=false", json={"inputs": {"draft": "hello world"}}).json()["run_id"]
        doc = wait_for(lambda: (d := c.get(f"/runs/{run_id}").json()).get("pending_approvals") and d)
        pending = doc["pending_approvals"][0]
        assert pending["node"] == "approve" and pending["value"] == "hello world"
        assert pending["message"] == "Send hello world?"
        r = c.post(f"/runs/{run_id}/approvals/nobody", json={"action": "approve"})
        assert r.status_code == 409 and "waiting: approve" in r.json()["error"]["message"]
        r = c.post(f"/runs/{run_id}/approvals/approve", json={"action": "maybe"})
        assert r.status_code == 422
        r = c.post(f"/runs/{run_id}/approvals/approve", json={"action": "edit", "value": "HELLO WORLD"})
        assert r.status_code == 200, r.text
        doc = wait_for(lambda: (d := c.get(f"/runs/{run_id}").json())["status"] != "running" and d)
        assert doc["status"] == "succeeded" and doc["outputs"] == {"sent": "HELLO WORLD"}
        # nothing waits any more
        assert c.post(f"/runs/{run_id}/approvals/approve", json={}).status_code == 409


def test_approval_reject_while_a_request_waits_for_the_result(server):
    import threading

    with server.client() as c:
        result: dict = {}
        t = threading.Thread(target=lambda: result.update(r=c.post("/flows/approve/runs", json={"inputs": {"draft": "x"}})))
        t.start()
        run_id = wait_for(lambda: next((r["run_id"] for r in _running(c)), None))
        wait_for(lambda: c.get(f"/runs/{run_id}").json().get("pending_approvals"))
        r = c.post(f"/runs/{run_id}/approvals/approve", json={"action": "reject", "reason": "not today"})
        assert r.status_code == 200
        t.join(60)
    doc = result["r"].json()
    assert result["r"].status_code == 200 and doc["outputs"] == {"not_sent": "x"}


def _running(c: httpx.Client) -> list[dict]:
    return [r for r in c.get("/runs").json()["runs"] if r["flow"] == "approve" and r["status"] == "running"]


def test_cancel_a_detached_run(server):
    with server.client() as c:
        run_id = c.post("/flows/slow/runs?wait=false", json={"inputs": {"topic": "t"}}).json()["run_id"]
        r = c.post(f"/runs/{run_id}/cancel")
        assert r.status_code in (200, 202)
        doc = wait_for(lambda: (d := c.get(f"/runs/{run_id}").json())["status"] != "running" and d)
        assert doc["status"] == "cancelled"
        status = wait_for(lambda: (s := c.get("/server").json())["runs_active"] == 0 and s)
        assert status["run_tasks"] == 0


def test_memory_sessions_through_the_native_endpoint(server):
    def say(message: str, **kw) -> str:
        with server.client() as c:
            r = c.post("/flows/memory_chat/runs", json={"inputs": {"message": message}, **kw.pop("body", {})}, **kw)
        assert r.status_code == 200, r.text
        return r.json()["outputs"]["reply"]

    assert say("hello", body={"session": "native-1"}) == "Nice to meet you."
    assert say("again", headers={"X-Orchestra-Session": "native-1"}) == "Welcome back: this is our second turn."
    assert say("hello", body={"session": "native-2"}) == "Nice to meet you."
    with server.client() as c:
        r = c.post("/flows/memory_chat/runs", json={"inputs": {"message": "x"}, "session": "../../etc/passwd"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "session"
        r = c.post("/flows/memory_chat/runs", json={"inputs": {"message": "x"}, "session": "a" * 201})
        assert r.status_code == 422
