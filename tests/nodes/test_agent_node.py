"""The Agent node: a bounded tool-calling loop through real litellm and the loopback server."""

from __future__ import annotations

import json

import pytest

from nodes.agent import AgentNode
from studio.core.errors import BudgetExceeded, NodeFailure
from studio.tools import FolderNotTrusted
from support.context import make_ctx
from support.mock_openai import Reply

MODEL = "openai/gpt-4o-mini"


def agent_ctx(server, params=None, inputs=None, **kw):
    base = {"model": MODEL, "prompt": "{{ task }}", "tools": ["calculator", "now"], "max_steps": 4, "timeout_s": 5}
    return make_ctx(AgentNode, {**base, **(params or {})}, inputs or {"task": "What is 6 times 7?"},
                    settings={"api_base": server.base_url}, **kw)


async def test_tool_loop_answers_and_reports_each_call(mock_openai):
    mock_openai.enqueue(Reply.tools(("calculator", {"expression": "6*7"}), usage=(100, 20)),
                        Reply.text("6 times 7 is 42.", usage=(150, 8)))
    ctx, rec = agent_ctx(mock_openai)
    out = await AgentNode().run(ctx)
    assert out["answer"] == "6 times 7 is 42."
    assert out["steps"] == 2
    roles = [m["role"] for m in out["transcript"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    assert out["transcript"][3]["content"] == "42"
    calls = rec.kinds("tool_call")
    assert len(calls) == 1 and calls[0]["tool"] == "calculator" and json.loads(calls[0]["arguments"]) == {"expression": "6*7"}
    results = rec.kinds("tool_result")
    assert results[0]["ok"] is True and results[0]["result"] == "42"
    # one cost report per billed model call, at gpt-4o-mini's price
    assert [(c.tokens_in, c.tokens_out) for c in rec.costs] == [(100, 20), (150, 8)]
    assert sum(c.usd for c in rec.costs) == pytest.approx(250 * 0.15e-6 + 28 * 0.6e-6)
    assert rec.budget_checks == 2
    second = mock_openai.requests[1].body
    assert second["messages"][3]["role"] == "tool" and second["messages"][3]["content"] == "42"
    assert {t["function"]["name"] for t in second["tools"]} == {"calculator", "now"}


async def test_max_steps_bounds_the_loop_and_the_last_step_offers_no_tool(mock_openai):
    mock_openai.on_model("gpt-4o-mini", Reply.tools(("now", {})))  # a model that never stops calling tools
    ctx, rec = agent_ctx(mock_openai, {"max_steps": 3})
    with pytest.raises(NodeFailure, match="max_steps=3"):
        await AgentNode().run(ctx)
    assert mock_openai.count == 3
    assert [r.body.get("tool_choice") for r in mock_openai.requests] == ["auto", "auto", "none"]
    assert len(rec.costs) == 3 and len(rec.kinds("tool_call")) == 2


async def test_a_failing_tool_is_reported_to_the_model_not_fatal(mock_openai):
    mock_openai.enqueue(Reply.tools(("calculator", {"expression": "__import__('os').system('id')"})),
                        Reply.tools(("no_such_tool", {})),
                        Reply.tools(("calculator", "{not json")),
                        Reply.text("I could not compute that."))
    ctx, rec = agent_ctx(mock_openai)
    out = await AgentNode().run(ctx)
    assert out["answer"] == "I could not compute that."
    errors = [m["content"] for m in out["transcript"] if m["role"] == "tool"]
    assert len(errors) == 3 and all(e.startswith("error:") for e in errors)
    assert "not allowed" in errors[0] or "unknown function" in errors[0]
    assert "no tool called 'no_such_tool'" in errors[1]
    assert "not valid JSON" in errors[2]
    assert [r["ok"] for r in rec.kinds("tool_result")] == [False, False, False]


async def test_budget_stops_the_loop_between_steps(mock_openai):
    mock_openai.enqueue(Reply.tools(("calculator", {"expression": "1+1"}), usage=(1_000_000, 0)))  # $0.15
    ctx, rec = agent_ctx(mock_openai)
    rec.budget_usd = 0.10
    with pytest.raises(BudgetExceeded):
        await AgentNode().run(ctx)
    assert mock_openai.count == 1 and len(rec.costs) == 1


async def test_untrusted_flow_tool_fails_before_any_paid_call(mock_openai, tmp_path, user_config):
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "shout.py").write_text('"""Shout."""\nPARAMETERS = {"type": "object", "properties": {}}\n'
                                                  "def run():\n    return 'HEY'\n")
    ctx, _ = agent_ctx(mock_openai, {"tools": ["shout"]}, flow_dir=tmp_path)
    with pytest.raises(FolderNotTrusted):
        await AgentNode().run(ctx)
    assert mock_openai.count == 0


async def test_mock_mode_runs_tools_offline(mock_openai):
    mocks = [{"tool_calls": [{"name": "calculator", "arguments": {"expression": "2+3"}}]}, "The sum is 5."]
    ctx, rec = agent_ctx(mock_openai, {"mock_responses": mocks}, mock=True)
    out = await AgentNode().run(ctx)
    assert out["answer"] == "The sum is 5."
    assert out["transcript"][3]["content"] == "5"
    assert mock_openai.count == 0
    assert len(rec.costs) == 2 and all(c.usd > 0 for c in rec.costs)


def test_declaration():
    assert AgentNode.paid
    assert [p.name for p in AgentNode.input_ports({"prompt": "Plan {{ goal }} by {{ date }}"})] == ["goal", "date",
                                                                                               "messages"]
    assert [p.name for p in AgentNode.output_ports({})] == ["answer", "transcript", "steps", "error"]
    params = AgentNode.default_params()
    assert AgentNode.resolve(params).problems == ()
    omitted = AgentNode.resolve({k: v for k, v in params.items() if k != "max_steps"})
    assert omitted.problems == () and omitted.values["max_steps"] == 8  # the declared bound
    assert any(n == "max_steps" for n, _ in AgentNode.resolve({**params, "max_steps": 0}).problems)
    assert any(n == "tools" for n, _ in AgentNode.resolve({**params, "tools": ["calculator", "calculator"]}).problems)
