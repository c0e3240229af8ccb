"""The LLM node through real litellm against the loopback server: streaming, JSON mode, and each
failure mode with its retry / fallback / error behaviour; cost reported once per billed call."""

from __future__ import annotations

import pytest

from nodes.llm import LLMNode
from studio.core.errors import BudgetExceeded, CredentialsMissing, NodeFailure, RetryableError
from support.context import make_ctx
from support.mock_openai import Reply

MODEL = "openai/gpt-4o-mini"
BACKUP = "openai/gpt-4o-mini-backup"  # unpriced: its cost is unknown (None), never 0
PRICE_IN, PRICE_OUT = 0.15e-6, 0.60e-6


def ctx_for(server, params=None, inputs=None, **kw):
    base = {"model": MODEL, "prompt": "Summarise {{ notes }}", "timeout_s": 5}
    return make_ctx(LLMNode, {**base, **(params or {})}, inputs or {"notes": "the meeting"},
                    settings={"api_base": server.base_url, **kw.pop("settings", {})}, **kw)


async def test_streams_tokens_and_reports_real_cost_once(mock_openai):
    mock_openai.enqueue(Reply.text("We agreed to ship on Friday.", usage=(2000, 400)))
    ctx, rec = ctx_for(mock_openai, {"system": "Be brief."})
    out = await LLMNode().run(ctx)
    assert out["text"] == "We agreed to ship on Friday."
    assert rec.streamed_text() == out["text"] and len(rec.kinds("token")) == 6
    assert len(rec.costs) == 1
    cost = rec.costs[0]
    assert (cost.tokens_in, cost.tokens_out, cost.model) == (2000, 400, MODEL)
    assert cost.usd == pytest.approx(2000 * PRICE_IN + 400 * PRICE_OUT)  # $0.00054
    assert rec.budget_checks == 1
    body = mock_openai.requests[0].body
    assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Summarise the meeting"}]
    assert out["messages"][-1] == {"role": "assistant", "content": out["text"]}


async def test_without_streaming_no_token_events(mock_openai):
    ctx, rec = ctx_for(mock_openai, {"stream": False})
    out = await LLMNode().run(ctx)
    assert out["text"] == "echo: Summarise the meeting"
    assert rec.kinds("token") == [] and len(rec.costs) == 1
    assert "stream" not in mock_openai.requests[0].body


async def test_json_mode_parses_onto_the_json_port(mock_openai):
    schema = {"type": "object", "required": ["actions"], "properties": {"actions": {"type": "array"}}}
    mock_openai.enqueue(Reply.text('{"actions": ["send notes", "book room"]}'))
    ctx, rec = ctx_for(mock_openai, {"response_format": "json", "json_schema": schema})
    out = await LLMNode().run(ctx)
    assert out["json"] == {"actions": ["send notes", "book room"]}
    body = mock_openai.requests[0].body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == schema
    assert "JSON" in body["messages"][0]["content"]


async def test_json_in_a_code_fence_is_accepted(mock_openai):
    mock_openai.enqueue(Reply.text('```json\n{"a": 1}\n```'))
    ctx, _ = ctx_for(mock_openai, {"response_format": "json"})
    assert (await LLMNode().run(ctx))["json"] == {"a": 1}


async def test_invalid_json_is_retried_then_shows_the_raw_text(mock_openai):
    mock_openai.enqueue(Reply.text("Sure! Here are the actions: send notes"), Reply.text('{"actions": []}'))
    ctx, rec = ctx_for(mock_openai, {"response_format": "json"})
    with pytest.raises(RetryableError) as info:
        await LLMNode().run(ctx)
    assert "Raw text: Sure! Here are the actions: send notes" in str(info.value)
    assert len(rec.costs) == 1  # the bad reply was billed, and counted once
    ctx2, rec2 = ctx_for(mock_openai, {"response_format": "json"}, attempt=2)  # the executor's next attempt
    assert (await LLMNode().run(ctx2))["json"] == {"actions": []}
    assert len(rec2.costs) == 1 and mock_openai.count == 2


async def test_json_not_matching_the_schema_is_retryable(mock_openai):
    schema = {"type": "object", "required": ["score"], "properties": {"score": {"type": "number"}}}
    mock_openai.enqueue(Reply.text('{"score": "high"}'))
    ctx, _ = ctx_for(mock_openai, {"response_format": "json", "json_schema": schema})
    with pytest.raises(RetryableError, match=r"does not match the schema at score.*Raw text: \{\"score\": \"high\"\}"):
        await LLMNode().run(ctx)


async def test_invalid_json_falls_back_to_the_next_model(mock_openai):
    mock_openai.on_model("gpt-4o-mini", Reply.text("not json at all"))
    mock_openai.on_model("gpt-4o-mini-backup", Reply.text('{"ok": true}'))
    ctx, rec = ctx_for(mock_openai, {"response_format": "json", "fallback_models": [BACKUP]})
    out = await LLMNode().run(ctx)
    assert out["json"] == {"ok": True}
    assert [c.model for c in rec.costs] == [MODEL, BACKUP]  # both calls were billed, each once


async def test_429_honours_retry_after_and_the_next_attempt_succeeds(mock_openai):
    mock_openai.enqueue(Reply.rate_limited(retry_after=3), Reply.text("done"))
    ctx, rec = ctx_for(mock_openai)
    with pytest.raises(RetryableError) as info:
        await LLMNode().run(ctx)
    assert info.value.retry_after == 3
    assert rec.costs == []  # a 429 is not billed
    ctx2, rec2 = ctx_for(mock_openai, attempt=2)
    assert (await LLMNode().run(ctx2))["text"] == "done"
    assert len(rec2.costs) == 1 and mock_openai.count == 2


@pytest.mark.parametrize("failure", [Reply.server_error(500), Reply.malformed_body(), Reply.dropped(),
                                     Reply(content="one two three four five six seven", drop=True),
                                     Reply.rate_limited(1), Reply.unauthorized(), Reply.hanging()],
                         ids=["500", "malformed", "dropped", "dropped-mid-stream", "429", "401", "hang"])
async def test_failure_of_the_primary_falls_back_within_the_attempt(mock_openai, failure):
    mock_openai.on_model("gpt-4o-mini", failure)
    mock_openai.on_model("gpt-4o-mini-backup", Reply.text("backup answer", usage=(10, 2)))
    ctx, rec = ctx_for(mock_openai, {"fallback_models": [BACKUP], "timeout_s": 0.5})
    out = await LLMNode().run(ctx)
    assert out["text"] == "backup answer"
    assert mock_openai.count_for("gpt-4o-mini") == 1 and mock_openai.count_for("gpt-4o-mini-backup") == 1
    assert [(c.model, c.usd) for c in rec.costs] == [(BACKUP, None)]  # billed once; unpriced model: unknown
    fallback = rec.kinds("fallback")
    assert len(fallback) == 1 and fallback[0]["model"] == MODEL and fallback[0]["next"] == BACKUP
    assert rec.budget_checks == 2  # before each paid call
    if failure.drop and failure.content:
        assert rec.kinds("stream_reset")  # the partial text on screen is withdrawn
        assert rec.streamed_text().endswith("backup answer")


async def test_all_models_failing_retryably_is_retryable_with_the_shortest_wait(mock_openai):
    mock_openai.on_model("gpt-4o-mini", Reply.rate_limited(retry_after=8))
    mock_openai.on_model("gpt-4o-mini-backup", Reply.rate_limited(retry_after=2))
    ctx, rec = ctx_for(mock_openai, {"fallback_models": [BACKUP]})
    with pytest.raises(RetryableError) as info:
        await LLMNode().run(ctx)
    assert info.value.retry_after == 2
    assert MODEL in str(info.value) and BACKUP in str(info.value)
    assert rec.costs == []


async def test_all_models_failing_for_good_is_a_node_failure(mock_openai):
    mock_openai.on_model("gpt-4o-mini", Reply.unauthorized())
    mock_openai.on_model("gpt-4o-mini-backup", Reply.bad_request("unsupported parameter"))
    ctx, _ = ctx_for(mock_openai, {"fallback_models": [BACKUP]})
    with pytest.raises(NodeFailure) as info:
        await LLMNode().run(ctx)
    assert not isinstance(info.value, RetryableError)
    assert "401" in str(info.value) and "unsupported parameter" in str(info.value)


async def test_a_hang_without_fallback_times_out_as_retryable(mock_openai):
    mock_openai.enqueue(Reply.hanging())
    ctx, rec = ctx_for(mock_openai, {"timeout_s": 0.5})
    with pytest.raises(RetryableError):
        await LLMNode().run(ctx)
    assert rec.costs == []


async def test_spent_budget_stops_before_any_request(mock_openai):
    ctx, rec = ctx_for(mock_openai)
    rec.budget_usd = 0.0
    with pytest.raises(BudgetExceeded):
        await LLMNode().run(ctx)
    assert mock_openai.count == 0 and rec.costs == []


async def test_budget_is_checked_again_before_a_fallback(mock_openai):
    mock_openai.on_model("gpt-4o-mini", Reply.text("not json", usage=(1_000_000, 0)))  # billed $0.15
    ctx, rec = ctx_for(mock_openai, {"response_format": "json", "fallback_models": [BACKUP]})
    rec.budget_usd = 0.10
    with pytest.raises(BudgetExceeded):
        await LLMNode().run(ctx)
    assert mock_openai.count_for("gpt-4o-mini-backup") == 0
    assert len(rec.costs) == 1 and rec.costs[0].usd == pytest.approx(0.15)


async def test_run_wide_api_base_overrides_the_nodes(mock_openai):
    ctx, _ = ctx_for(mock_openai, {"api_base": "http://127.0.0.1:9/v1"})
    assert (await LLMNode().run(ctx))["text"].startswith("echo:")
    assert mock_openai.count == 1


async def test_node_api_base_is_used_without_a_run_override(mock_openai):
    ctx, _ = make_ctx(LLMNode, {"model": "openai/local-model", "api_base": mock_openai.base_url, "prompt": "hi"})
    assert (await LLMNode().run(ctx))["text"] == "echo: hi"


async def test_missing_key_is_reported_without_a_request(mock_openai, monkeypatch):
    import keyring
    from keyring.backends import fail

    from studio.core.userdata import credentials

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    credentials.forget_cached()
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    try:
        ctx, _ = make_ctx(LLMNode, {"model": "anthropic/claude-haiku-4-5", "prompt": "hi"})
        with pytest.raises(CredentialsMissing, match="ANTHROPIC_API_KEY"):
            await LLMNode().run(ctx)
    finally:
        keyring.set_keyring(previous)
        credentials.forget_cached()
    assert mock_openai.count == 0


def test_ports_follow_the_prompt_and_format():
    ins = LLMNode.input_ports({"prompt": "Compare {{ a }} with {{ b }}"})
    assert [p.name for p in ins] == ["a", "b", "messages"]  # messages: an optional conversation (a Memory's history)
    assert not ins[-1].needs_source
    assert [p.name for p in LLMNode.output_ports({"response_format": "text"})] == ["text", "messages", "error"]
    assert [p.name for p in LLMNode.output_ports({"response_format": "json"})] == ["text", "json", "messages", "error"]
    assert LLMNode.paid


def test_parameter_checks():
    good = LLMNode.default_params()
    assert LLMNode.resolve(good).problems == ()
    assert ("json_schema", "must be a JSON Schema object") in LLMNode.resolve({**good, "json_schema": [1]}).problems
    assert any(n == "json_schema" for n, _ in LLMNode.resolve({**good, "json_schema": {"type": "nope"}}).problems)
    assert any(n == "api_base" for n, _ in LLMNode.resolve({**good, "api_base": "localhost:1234"}).problems)
    assert any(n == "fallback_models" for n, _ in LLMNode.resolve({**good, "fallback_models": [""]}).problems)
    names = {p.name for p in LLMNode.params}
    assert {"timeout_s", "retries", "retry_backoff_s"} <= names


# -- JSON replies whose schema is not an object (regression: OpenAI refuses a root array) --

LIST_SCHEMA = {"type": "array", "items": {"type": "string"}, "minItems": 2}


async def test_array_schema_is_sent_wrapped_in_an_object_and_unwrapped(mock_openai):
    mock_openai.enqueue(Reply.text('{"value": ["history", "economics"]}'))
    ctx, _ = ctx_for(mock_openai, {"response_format": "json", "json_schema": LIST_SCHEMA})
    out = await LLMNode().run(ctx)
    assert out["json"] == ["history", "economics"]
    body = mock_openai.requests[0].body
    sent = body["response_format"]["json_schema"]["schema"]
    assert sent["type"] == "object" and sent["properties"]["value"] == LIST_SCHEMA
    assert sent["required"] == ["value"]
    assert '{"value": ...}' in body["messages"][0]["content"]


async def test_array_schema_accepts_a_bare_array_too(mock_openai):
    mock_openai.enqueue(Reply.text('["a", "b", "c"]'))
    ctx, _ = ctx_for(mock_openai, {"response_format": "json", "json_schema": LIST_SCHEMA})
    assert (await LLMNode().run(ctx))["json"] == ["a", "b", "c"]


async def test_array_schema_in_mock_mode(mock_openai):
    ctx, _ = ctx_for(mock_openai, {"response_format": "json", "json_schema": LIST_SCHEMA,
                                   "mock_per": "call", "mock_responses": [["x", "y"]]}, mock=True)
    assert (await LLMNode().run(ctx))["json"] == ["x", "y"]
    ctx, _ = ctx_for(mock_openai, {"response_format": "json", "json_schema": LIST_SCHEMA}, mock=True)
    assert (await LLMNode().run(ctx))["json"] == ["mock", "mock"]  # the placeholder has the schema's shape
    assert mock_openai.count == 0


def test_array_schema_gives_a_list_port_that_feeds_a_fanout():
    from studio.core.catalogue.types import PortType
    from tests.support.flows import Flow

    ports = {p.name: p for p in LLMNode.output_ports({"response_format": "json", "json_schema": LIST_SCHEMA})}
    assert ports["json"].type == PortType.LIST
    obj = {p.name: p for p in LLMNode.output_ports({"response_format": "json", "json_schema": {"type": "object"}})}
    assert obj["json"].type == PortType.JSON
    f = Flow()
    f.node("plan", "llm", prompt="{{ topic }}", response_format="json", json_schema=LIST_SCHEMA)
    f.node("each", "fanout")
    f.node("gather", "collect")
    f.node("out", "output", name="result")
    f.wire("plan.json", "each.items")
    f.wire("each.item", "gather.item")
    f.wire("gather.results", "out.value")
    from studio.core.document.validation import validate

    assert [p for p in validate(f.model) if p.code == "type_mismatch"] == []
