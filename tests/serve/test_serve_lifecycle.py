"""The server's life: SIGTERM drains (running requests and detached runs finish, new ones
are refused, exit 0), a grace period that runs out cancels what is left, --reload serves
edited flows to new requests only, the token comes from the keyring, bad start-ups say why."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from serving import ROOT, TOKEN, Server, child_env, slow_flow, wait_for, write_flow


def _trace_end(tmp_path, run_id: str) -> str:
    traces = list((tmp_path / "data" / "traces").rglob(f"*-{run_id}.jsonl"))
    assert len(traces) == 1
    return json.loads(traces[0].read_text().splitlines()[-1])["type"]


def test_sigterm_lets_running_requests_finish_refuses_new_ones_and_exits_0(tmp_path):
    flows = tmp_path / "flows"
    write_flow(flows, "slow", slow_flow(2.0))
    srv = Server(tmp_path, [flows], "--mock", "--grace", "60")
    result: dict = {}
    with srv.client() as c:
        waiting = threading.Thread(target=lambda: result.update(
            r=httpx.post(srv.url + "/flows/slow/runs", headers=srv.headers, json={"inputs": {"topic": "waits"}}, timeout=60)))
        waiting.start()
        detached = c.post("/flows/slow/runs?wait=false", json={"inputs": {"topic": "detached"}}).json()["run_id"]
        wait_for(lambda: c.get("/server").json()["runs_active"] == 2)
    srv.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "Shutting down" in srv.log())
    with pytest.raises(httpx.TransportError):  # no longer accepting connections
        httpx.post(srv.url + "/flows/slow/runs", headers=srv.headers, json={"inputs": {"topic": "late"}}, timeout=5)
    waiting.join(60)
    assert srv.proc.wait(60) == 0, srv.log()
    r = result["r"]
    assert r.status_code == 200 and r.json()["status"] == "succeeded" and r.json()["outputs"] == {"done": "WAITS"}
    assert _trace_end(tmp_path, detached) == "run_finished"


def test_a_run_outlasting_the_grace_period_is_cancelled_and_the_exit_is_still_0(tmp_path):
    flows = tmp_path / "flows"
    write_flow(flows, "slow", slow_flow(120.0))
    srv = Server(tmp_path, [flows], "--mock", "--grace", "1")
    with srv.client() as c:
        run_id = c.post("/flows/slow/runs?wait=false", json={"inputs": {"topic": "x"}}).json()["run_id"]
        wait_for(lambda: c.get("/server").json()["runs_active"] == 1)
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(60) == 0, srv.log()
    assert _trace_end(tmp_path, run_id) == "run_cancelled"
    assert "cancelled 1 run(s)" in srv.log()


def test_reload_serves_an_edited_flow_to_new_requests_and_keeps_running_ones(tmp_path):
    flows = tmp_path / "flows"
    doc = slow_flow(2.0)
    path = write_flow(flows, "slow", doc)
    with Server(tmp_path, [flows], "--mock", "--reload") as srv, srv.client() as c:
        old = c.post("/flows/slow/runs?wait=false", json={"inputs": {"topic": "Old"}}).json()["run_id"]
        wait_for(lambda: c.get("/server").json()["runs_active"] == 1)
        doc["nodes"][1]["params"]["template"] = "{{ topic | lower }}!"
        doc["nodes"][2]["params"]["seconds"] = 0
        path.write_text(json.dumps(doc), encoding="utf-8")
        new = c.post("/flows/slow/runs", json={"inputs": {"topic": "New"}}).json()
        assert new["outputs"] == {"done": "new!"}
        finished = wait_for(lambda: (d := c.get(f"/runs/{old}").json())["status"] != "running" and d)
        assert finished["status"] == "succeeded" and finished["outputs"] == {"done": "OLD"}
        # a broken edit keeps the last good version in service
        path.write_text("{ not json", encoding="utf-8")
        assert c.post("/flows/slow/runs", json={"inputs": {"topic": "Still"}}).json()["outputs"] == {"done": "still!"}
        # a new file in a served folder is picked up too
        write_flow(flows, "slow2", slow_flow(0.0, name="Second"))
        wait_for(lambda: "slow2" in [f["name"] for f in c.get("/flows").json()["flows"]], timeout=30, interval=0.3)
    assert "cannot be served" in srv.log()


def test_without_reload_edits_are_not_picked_up(tmp_path):
    flows = tmp_path / "flows"
    doc = slow_flow(0.0)
    path = write_flow(flows, "slow", doc)
    with Server(tmp_path, [flows], "--mock") as srv, srv.client() as c:
        doc["nodes"][1]["params"]["template"] = "changed"
        path.write_text(json.dumps(doc), encoding="utf-8")
        assert c.post("/flows/slow/runs", json={"inputs": {"topic": "same"}}).json()["outputs"] == {"done": "SAME"}


def test_the_token_from_the_keyring(tmp_path):
    flows = tmp_path / "flows"
    write_flow(flows, "slow", slow_flow(0.0))
    stored = "token-kept-in-the-keyring-a1b2c3d4"
    env = child_env(tmp_path, token=None, ORCHESTRA_TEST_KEYRING=json.dumps({"orchestra-studio": {"serve-token": stored}}))
    with Server(tmp_path, [flows], "--mock", token=stored, env=env) as srv:
        assert httpx.get(srv.url + "/flows", headers=srv.headers).status_code == 200
        assert httpx.get(srv.url + "/flows", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401
        assert "bearer token in the OS keyring" in srv.log() and stored not in srv.log()
    out = subprocess.run([sys.executable, "-m", "studio.cli", "serve", "--print-token"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == stored


def test_first_start_makes_a_token_and_keeps_it_in_the_keyring(memory_keyring, monkeypatch):
    from studio.serve.auth import server_token

    monkeypatch.delenv("ORCHESTRA_SERVE_TOKEN", raising=False)
    token, source = server_token()
    assert source == "keyring (new)" and len(token) >= 32
    assert memory_keyring.store[("orchestra-studio", "serve-token")] == token
    assert server_token() == (token, "keyring")
    monkeypatch.setenv("ORCHESTRA_SERVE_TOKEN", "short")
    from studio.serve.auth import TokenUnavailable

    with pytest.raises(TokenUnavailable, match="too short"):
        server_token()


def test_bad_start_ups_say_why_and_exit_2(tmp_path):
    def serve(*args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "studio.cli", "serve", *args], cwd=ROOT,
                              env={**child_env(tmp_path), **env}, capture_output=True, text=True, timeout=60)

    out = serve(str(tmp_path / "missing.flow.json"))
    assert out.returncode == 2 and "no such file or folder" in out.stderr
    bad = tmp_path / "bad.flow.json"
    bad.write_text('{"format": "orchestra-flow", "version": 1, "nodes": [{"id": "x", "type": "output"}], '
                   '"edges": [{"from": "nowhere.value", "to": "x.value"}]}')
    out = serve(str(bad))
    assert out.returncode == 2 and "bad.flow.json" in out.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    out = serve(str(empty))
    assert out.returncode == 2 and "no flows to serve" in out.stderr
    out = serve(str(bad), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", ORCHESTRA_SERVE_TOKEN="")
    assert out.returncode == 2 and "ORCHESTRA_SERVE_TOKEN" in out.stderr
