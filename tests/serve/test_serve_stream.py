"""Streaming through a real server: events arrive while the run is going, end with the
result, and a client that drops the stream cancels its run -- no task, no child process left."""

from __future__ import annotations

import json

from serving import children, sse_events, wait_for


def _status(c, run_id: str) -> str:
    return c.get(f"/runs/{run_id}").json()["status"]


def test_events_arrive_before_the_run_ends_and_end_with_the_result(server, flows_dir, tmp_path):
    seen: list[str] = []
    with server.client() as c, c.stream("POST", "/flows/hello/runs?stream=true", json={"inputs": {"topic": "owls"}}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = list(sse_events(r))
    seen = [e for e, _ in events]
    assert seen[0] == "run_started" and seen[-2] == "run_finished" and seen[-1] == "result"
    assert "node_started" in seen and "node_finished" in seen
    result = json.loads(events[-1][1])
    from serving import orchestra_run

    assert result["status"] == "succeeded"
    assert result["outputs"] == orchestra_run(flows_dir / "hello.flow.json", {"topic": "owls"}, tmp_path, "--mock")["outputs"]


def test_events_stream_while_the_run_is_still_going(server):
    with server.client() as c:
        with c.stream("POST", "/flows/slow/runs?stream=true", json={"inputs": {"topic": "slowly"}}) as r:
            it = sse_events(r)
            run_id = json.loads(next(it)[1])["data"]["run_id"]
            for event, data in it:
                doc = json.loads(data)
                if event == "node_finished" and doc["node"] == "shout":
                    assert doc["data"]["outputs"]["text"] == "SLOWLY"
                    break
            # we hold the template's result while the run is still waiting in its Delay
            assert _status(c, run_id) == "running"
        # leaving the block dropped the stream: the run is cancelled, nothing of it is left
        assert wait_for(lambda: _status(c, run_id) == "cancelled", timeout=30)
        status = wait_for(lambda: (s := c.get("/server").json())["runs_active"] == 0 and s)
        assert status["run_tasks"] == 0 and status["run_slots"]["taken"] == 0
        trace = c.get(f"/runs/{run_id}/trace").json()
        assert trace["events"][-1]["type"] == "run_cancelled"


def test_llm_tokens_stream_as_progress_events(server):
    with server.client() as c, c.stream("POST", "/flows/echo_chat/runs?stream=true", json={"inputs": {"message": "hi"}}) as r:
        events = [(e, json.loads(d)) for e, d in sse_events(r)]
    tokens = [d["data"]["text"] for e, d in events if e == "node_progress" and d["data"].get("kind") == "token"]
    assert len(tokens) > 1 and "".join(tokens) == "Streaming replies arrive piece by piece."
    finished = next(i for i, (e, _) in enumerate(events) if e == "node_finished" and events[i][1]["node"] == "answer")
    first_token = next(i for i, (e, d) in enumerate(events) if e == "node_progress")
    assert first_token < finished
    assert events[-1][1]["outputs"] == {"reply": "Streaming replies arrive piece by piece."}


def test_a_dropped_stream_stops_the_child_process_of_its_run(server):
    pid = server.proc.pid
    before = set(children(pid))
    with server.client() as c:
        with c.stream("POST", "/flows/child/runs?stream=true", json={"inputs": {"topic": "t"}}) as r:
            it = sse_events(r)
            run_id = json.loads(next(it)[1])["data"]["run_id"]
            for event, data in it:
                if event == "node_started" and json.loads(data)["node"] == "sleepy":
                    break
            wait_for(lambda: set(children(pid)) - before)  # the tool's child process is running
        assert wait_for(lambda: _status(c, run_id) == "cancelled", timeout=30)
        wait_for(lambda: not (set(children(pid)) - before), timeout=30)
        status = wait_for(lambda: (s := c.get("/server").json())["runs_active"] == 0 and s)
        assert status["run_tasks"] == 0


def test_a_waiting_request_whose_client_goes_away_cancels_its_run(server):
    import httpx

    with server.client() as c:
        try:
            httpx.post(server.url + "/flows/slow/runs", headers=server.headers, json={"inputs": {"topic": "gone"}}, timeout=1.5)
        except httpx.TimeoutException:
            pass  # the client gave up and closed its connection
        runs = [r for r in c.get("/runs").json()["runs"] if r["flow"] == "slow"]
        run_id = runs[0]["run_id"]
        assert wait_for(lambda: _status(c, run_id) == "cancelled", timeout=30)
        # the run went on in the request's own task: nothing of it is left either
        status = wait_for(lambda: (s := c.get("/server").json())["runs_active"] == 0 and s)
        assert status["run_tasks"] == 0 and status["run_slots"]["taken"] == 0
        assert c.get(f"/runs/{run_id}/trace").json()["events"][-1]["type"] == "run_cancelled"


def test_a_waiting_run_shows_as_a_run_task_while_it_runs(server):
    """/server's run_tasks counts runs going in a request's own task too (operators read it)."""
    import threading

    import httpx

    answer: dict = {}
    waiting = threading.Thread(target=lambda: answer.update(r=httpx.post(
        server.url + "/flows/slow/runs", headers=server.headers, json={"inputs": {"topic": "held"}}, timeout=60)))
    waiting.start()
    with server.client() as c:
        run_id = wait_for(lambda: next((r["run_id"] for r in c.get("/runs").json()["runs"]
                                        if r["flow"] == "slow" and r["status"] == "running"), None))
        status = c.get("/server").json()
        assert status["run_tasks"] == status["runs_active"] >= 1
        assert c.post(f"/runs/{run_id}/cancel").status_code in (200, 202)
        waiting.join(30)
        assert answer["r"].status_code == 503 and answer["r"].json()["status"] == "cancelled"
        status = wait_for(lambda: (s := c.get("/server").json())["runs_active"] == 0 and s)
        assert status["run_tasks"] == 0 and status["run_slots"]["taken"] == 0


def test_a_streamed_run_pauses_at_an_approval_and_goes_on_once_answered(server):
    with server.client() as c, c.stream("POST", "/flows/approve/runs?stream=true",
                                        json={"inputs": {"draft": "streamed draft"}}) as r:
        it = sse_events(r)
        run_id = json.loads(next(it)[1])["data"]["run_id"]
        for event, data in it:
            if event == "approval_requested":
                doc = json.loads(data)
                assert doc["node"] == "approve" and doc["data"]["message"] == "Send streamed draft?"
                break
        with server.client() as other:  # a second client (a person, a reviewing tool) answers
            assert other.post(f"/runs/{run_id}/approvals/approve", json={"action": "approve"}).status_code == 200
        rest = list(it)
    names = [e for e, _ in rest]
    assert "approval_resolved" in names and names[-1] == "result"
    assert json.loads(rest[-1][1])["outputs"] == {"sent": "streamed draft"}
