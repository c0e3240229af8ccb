"""Limits through a real server: 429 when every run slot is taken (with Retry-After), when
a run spends its per-request budget and when the day's budget is gone (also after a
restart); CORS off unless configured."""

from __future__ import annotations

import httpx
import openai
import pytest

from serving import Server, flow_doc, llm_chat_flow, slow_flow, wait_for, write_flow


def two_calls_flow() -> dict:
    """message -> first LLM -> second LLM -> reply: the second call needs budget left."""
    return flow_doc("Two calls", [
        {"id": "message", "type": "input", "params": {"name": "message"}},
        {"id": "first", "type": "llm", "params": {"model": "gpt-4o-mini", "prompt": "{{ message }}",
                                                  "mock_responses": ["one two three four five six seven eight"]}},
        {"id": "second", "type": "llm", "params": {"model": "gpt-4o-mini", "prompt": "{{ text }}"}},
        {"id": "reply", "type": "output", "params": {"name": "reply"}},
    ], [("message.value", "first.message"), ("first.text", "second.text"), ("second.text", "reply.value")])


def test_saturated_server_answers_429_with_retry_after(tmp_path):
    flows = tmp_path / "flows"
    write_flow(flows, "slow", slow_flow(60.0))
    write_flow(flows, "chat", llm_chat_flow())
    with Server(tmp_path, [flows], "--mock", "--concurrency", "1") as srv, srv.client() as c:
        run_id = c.post("/flows/slow/runs?wait=false", json={"inputs": {"topic": "x"}}).json()["run_id"]
        r = c.post("/flows/slow/runs", json={"inputs": {"topic": "y"}})
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "too_many_runs"
        assert int(r.headers["Retry-After"]) >= 1
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key=srv.token, max_retries=0)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
        # refused requests started nothing
        assert [r["run_id"] for r in c.get("/runs").json()["runs"]] == [run_id]
        c.post(f"/runs/{run_id}/cancel")
        wait_for(lambda: c.get("/server").json()["run_slots"]["taken"] == 0)
        assert client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}]).choices


def test_a_run_that_spends_its_per_request_budget_ends_with_429(tmp_path):
    flows = tmp_path / "flows"
    write_flow(flows, "two", two_calls_flow())
    with Server(tmp_path, [flows], "--mock", "--budget-per-request", "0.0000001") as srv, srv.client() as c:
        r = c.post("/flows/two/runs", json={"inputs": {"message": "hello"}})
        assert r.status_code == 429, r.text
        doc = r.json()
        assert doc["status"] == "budget_exceeded"
        assert doc["nodes"]["first"]["status"] == "done" and doc["nodes"]["second"]["status"] == "failed"
        assert doc["totals"]["cost_usd"] > 0.0000001 > 0
        # the budget is per request: the next one gets its own
        assert c.post("/flows/two/runs", json={"inputs": {"message": "again"}}).json()["nodes"]["first"]["status"] == "done"


def test_the_daily_budget_refuses_new_runs_until_midnight_also_after_a_restart(tmp_path):
    flows = tmp_path / "flows"
    write_flow(flows, "chat", llm_chat_flow())
    write_flow(flows, "slow", slow_flow(0.0))
    args = ("--mock", "--budget-per-day", "0.0000001")
    with Server(tmp_path, [flows], *args) as srv, srv.client() as c:
        assert c.post("/flows/chat/runs", json={"inputs": {"message": "spend a little"}}).status_code == 200
        spent = c.get("/server").json()["spent_today_usd"]
        assert spent > 0.0000001
        r = c.post("/flows/slow/runs", json={"inputs": {"topic": "free but refused"}})
        assert r.status_code == 429 and r.json()["error"]["code"] == "daily_budget_spent"
        assert 1 <= int(r.headers["Retry-After"]) <= 86400
    with Server(tmp_path, [flows], *args) as srv, srv.client() as c:
        assert c.get("/server").json()["spent_today_usd"] == spent
        r = c.post("/flows/chat/runs", json={"inputs": {"message": "still refused"}})
        assert r.status_code == 429 and r.json()["error"]["code"] == "daily_budget_spent"


def test_cors_is_off_unless_configured(tmp_path):
    flows = tmp_path / "flows"
    write_flow(flows, "slow", slow_flow(0.0))
    origin = {"Origin": "https://elsewhere.example"}
    with Server(tmp_path, [flows], "--mock") as srv:
        r = httpx.get(srv.url + "/flows", headers={**srv.headers, **origin})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
        r = httpx.options(srv.url + "/flows", headers={**origin, "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in r.headers and r.status_code == 401
    with Server(tmp_path, [flows], "--mock", "--cors-origin", "https://app.example") as srv:
        ok = {"Origin": "https://app.example"}
        r = httpx.options(srv.url + "/flows", headers={**ok, "Access-Control-Request-Method": "GET",
                                                       "Access-Control-Request-Headers": "authorization"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://app.example"
        r = httpx.get(srv.url + "/flows", headers={**srv.headers, **ok})
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        r = httpx.get(srv.url + "/flows", headers={**srv.headers, **origin})
        assert "access-control-allow-origin" not in r.headers
        assert httpx.get(srv.url + "/flows", headers=ok).status_code == 401  # CORS never replaces the token
