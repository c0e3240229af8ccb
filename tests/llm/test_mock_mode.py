"""Mock mode: configured or clearly marked placeholder answers, tokens counted with litellm's
counter, cost estimated at the real model's price, and no network at all."""

from __future__ import annotations

import json

import jsonschema
import pytest

from nodes.llm import LLMNode
from studio.llm.mock import NO_MOCK, mock_complete, pick, skeleton
from studio.llm.runtime import litellm
from support.context import make_ctx

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Summarise the meeting notes."}]


def test_mock_answer_counts_tokens_and_estimates_real_cost(user_config):
    reply = "The team agreed to ship on Friday and to review the budget next week."
    c = mock_complete("openai/gpt-4o-mini", MESSAGES, reply)
    ll = litellm()
    assert c.mock and c.tokens_estimated
    assert c.text == reply
    assert c.tokens_in == ll.token_counter(model="openai/gpt-4o-mini", messages=MESSAGES)
    assert c.tokens_out == ll.token_counter(model="openai/gpt-4o-mini", text=reply)
    assert c.cost_usd == pytest.approx(c.tokens_in * 0.15e-6 + c.tokens_out * 0.6e-6)
    assert c.cost_usd > 0


def test_placeholder_is_clearly_marked(user_config):
    c = mock_complete("gpt-4o-mini", MESSAGES)
    assert c.text.startswith("[mock response from gpt-4o-mini")
    assert "mock" in c.text


def test_mock_cost_unknown_for_unpriced_model(user_config):
    assert mock_complete("openai/no-such-model", MESSAGES, "hi").cost_usd is None


def test_json_mode_placeholder_matches_the_schema(user_config):
    schema = {"type": "object", "required": ["title", "score", "tags"],
              "properties": {"title": {"type": "string"}, "score": {"type": "number", "minimum": 1},
                             "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                             "kind": {"enum": ["bug", "feature"]}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    c = mock_complete("gpt-4o-mini", MESSAGES, NO_MOCK, response_format=fmt)
    value = json.loads(c.text)
    jsonschema.validate(value, schema)
    assert value["kind"] == "bug" and value["score"] == 1
    assert skeleton({"type": ["null", "integer"]}) == 0


def test_mock_tool_calls_for_agents(user_config):
    c = mock_complete("gpt-4o-mini", MESSAGES, {"tool_calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]})
    assert c.tool_calls[0].name == "calculator"
    assert c.tool_calls[0].parsed_arguments() == {"expression": "1+1"}
    assert c.finish_reason == "tool_calls"


def test_pick_repeats_the_last_response():
    assert pick(["a", "b"], 0) == "a"
    assert pick(["a", "b"], 5) == "b"
    assert pick([], 0) is NO_MOCK


@pytest.mark.parametrize("iteration,expected", [(1, "first draft"), (2, "second draft"), (3, "final"), (7, "final")])
async def test_llm_node_mock_per_iteration(mock_openai, iteration, expected):
    ctx, rec = make_ctx(LLMNode, {"mock_responses": ["first draft", "second draft", "final"], "prompt": "Draft {{ x }}"},
                        {"x": "it"}, mock=True, iteration=iteration, settings={"api_base": mock_openai.base_url})
    out = await LLMNode().run(ctx)
    assert out["text"] == expected
    assert mock_openai.count == 0  # mock mode never calls the provider
    assert len(rec.costs) == 1 and rec.costs[0].usd > 0
    assert rec.streamed_text() == expected  # mock runs stream too, so the UI looks the same


async def test_llm_node_mock_per_call_follows_attempts(mock_openai):
    params = {"mock_responses": ["not json", '{"ok": true}'], "mock_per": "call", "response_format": "json"}
    from studio.core.errors import RetryableError

    ctx, _ = make_ctx(LLMNode, params, {"input": "x"}, mock=True, attempt=1)
    with pytest.raises(RetryableError, match="Raw text: not json"):
        await LLMNode().run(ctx)
    ctx, _ = make_ctx(LLMNode, params, {"input": "x"}, mock=True, attempt=2)
    assert (await LLMNode().run(ctx))["json"] == {"ok": True}
    assert mock_openai.count == 0


async def test_mock_mode_needs_no_key(user_config, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    ctx, rec = make_ctx(LLMNode, {"model": "anthropic/claude-haiku-4-5"}, {"input": "hi"}, mock=True)
    out = await LLMNode().run(ctx)
    assert out["text"].startswith("[mock response from anthropic/claude-haiku-4-5")
    assert rec.costs[0].usd is not None and rec.costs[0].usd > 0  # priced at Claude's real rate
