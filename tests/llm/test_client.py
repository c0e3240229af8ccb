"""studio.llm.complete against the loopback server through real litellm: replies, usage,
streaming, tool calls, and every failure mode mapped to RetryableError / NodeFailure."""

from __future__ import annotations

import asyncio
import json

import pytest

from studio.core.errors import NodeFailure, RetryableError
from studio.llm import complete
from support.mock_openai import Reply

MODEL = "openai/gpt-4o-mini"
PRICE_IN, PRICE_OUT = 0.15 / 1e6, 0.60 / 1e6  # gpt-4o-mini, USD per token
USER = [{"role": "user", "content": "hello there"}]


async def test_completion_returns_text_usage_and_real_cost(mock_openai):
    mock_openai.enqueue(Reply.text("Paris is the capital.", usage=(1200, 300)))
    c = await complete(MODEL, USER, api_base=mock_openai.base_url)
    assert c.text == "Paris is the capital."
    assert (c.tokens_in, c.tokens_out) == (1200, 300)
    assert c.cost_usd == pytest.approx(1200 * PRICE_IN + 300 * PRICE_OUT)  # $0.00036
    assert c.cost_usd == pytest.approx(0.00036)
    assert not c.tokens_estimated and not c.mock
    assert mock_openai.count == 1
    assert mock_openai.requests[0].authorization == "Bearer sk" "-test-dummy-0123456789abcdef"


async def test_parameters_reach_the_server(mock_openai):
    await complete(MODEL, USER, api_base=mock_openai.base_url, temperature=0.3, max_tokens=55,
                   response_format={"type": "json_object"})
    body = mock_openai.requests[0].body
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 55
    assert body["response_format"] == {"type": "json_object"}
    assert body["model"] == "gpt-4o-mini"


async def test_streaming_passes_tokens_and_keeps_final_usage(mock_openai):
    mock_openai.enqueue(Reply.text("one two three four", usage=(10, 4)))
    pieces: list[str] = []
    c = await complete(MODEL, USER, api_base=mock_openai.base_url, stream=True, on_token=pieces.append)
    assert pieces == ["one ", "two ", "three ", "four"]
    assert c.text == "one two three four"
    assert (c.tokens_in, c.tokens_out) == (10, 4)
    assert c.cost_usd == pytest.approx(10 * PRICE_IN + 4 * PRICE_OUT)
    assert mock_openai.requests[0].body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_calls_are_assembled(mock_openai, stream):
    mock_openai.enqueue(Reply.tools(("calculator", {"expression": "6*7"}), ("now", {"timezone": "UTC"})))
    tools = [{"type": "function", "function": {"name": n, "parameters": {"type": "object", "properties": {}}}}
             for n in ("calculator", "now")]
    c = await complete(MODEL, USER, api_base=mock_openai.base_url, tools=tools, stream=stream)
    assert [t.name for t in c.tool_calls] == ["calculator", "now"]
    assert c.tool_calls[0].parsed_arguments() == {"expression": "6*7"}
    assert c.tool_calls[1].parsed_arguments() == {"timezone": "UTC"}
    assert all(t.id for t in c.tool_calls)
    assert c.finish_reason == "tool_calls"
    assert mock_openai.requests[0].body["tools"][0]["function"]["name"] == "calculator"


async def test_429_is_retryable_and_carries_retry_after(mock_openai):
    mock_openai.enqueue(Reply.rate_limited(retry_after=7))
    with pytest.raises(RetryableError) as info:
        await complete(MODEL, USER, api_base=mock_openai.base_url)
    assert info.value.retry_after == 7
    assert "429" in str(info.value)
    assert mock_openai.count == 1  # neither litellm nor the SDK retried on their own


async def test_429_while_streaming_carries_retry_after(mock_openai):
    mock_openai.enqueue(Reply.rate_limited(retry_after=2.5))
    with pytest.raises(RetryableError) as info:
        await complete(MODEL, USER, api_base=mock_openai.base_url, stream=True)
    assert info.value.retry_after == 2.5


@pytest.mark.parametrize("reply", [Reply.server_error(500), Reply.server_error(503), Reply.malformed_body(),
                                   Reply.dropped()], ids=["500", "503", "malformed", "dropped"])
async def test_server_failures_are_retryable(mock_openai, reply):
    mock_openai.enqueue(reply)
    with pytest.raises(RetryableError):
        await complete(MODEL, USER, api_base=mock_openai.base_url)
    assert mock_openai.count == 1


async def test_dropped_mid_stream_is_retryable_after_partial_tokens(mock_openai):
    mock_openai.enqueue(Reply(content="alpha beta gamma delta epsilon zeta", drop=True))
    pieces: list[str] = []
    with pytest.raises(RetryableError):
        await complete(MODEL, USER, api_base=mock_openai.base_url, stream=True, on_token=pieces.append)
    assert pieces and "".join(pieces) != "alpha beta gamma delta epsilon zeta"


async def test_hang_times_out_as_retryable(mock_openai):
    mock_openai.enqueue(Reply.hanging())
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RetryableError, match="in time"):
        await complete(MODEL, USER, api_base=mock_openai.base_url, timeout=0.5)
    assert loop.time() - started < 5


async def test_connection_refused_is_retryable(user_config, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk" "-test-dummy-0123456789abcdef")
    with pytest.raises(RetryableError):
        await complete(MODEL, USER, api_base="http://127.0.0.1:9/v1", timeout=5)


async def test_rejected_key_is_a_clear_failure(mock_openai):
    mock_openai.enqueue(Reply.unauthorized())
    with pytest.raises(NodeFailure, match=r"rejected the API key \(401\).*orchestra keys set openai"):
        await complete(MODEL, USER, api_base=mock_openai.base_url)


async def test_bad_request_is_a_failure_not_a_retry(mock_openai):
    mock_openai.enqueue(Reply.bad_request("max_tokens is too large"))
    with pytest.raises(NodeFailure, match="max_tokens is too large") as info:
        await complete(MODEL, USER, api_base=mock_openai.base_url)
    assert not isinstance(info.value, RetryableError)


async def test_unknown_model_cost_is_none_not_zero(mock_openai):
    c = await complete("openai/my-local-finetune", USER, api_base=mock_openai.base_url)
    assert c.text == "echo: hello there"
    assert c.tokens_in > 0
    assert c.cost_usd is None


async def test_provider_limit_bounds_concurrent_calls(mock_openai):
    mock_openai.latency = 0.05
    calls = [complete(MODEL, USER, api_base=mock_openai.base_url, provider_limits={"openai": 3}) for _ in range(12)]
    await asyncio.gather(*calls)
    assert mock_openai.count == 12
    assert mock_openai.max_in_flight == 3


async def test_without_limit_calls_run_concurrently(mock_openai):
    mock_openai.latency = 0.05
    await asyncio.gather(*(complete(MODEL, USER, api_base=mock_openai.base_url) for _ in range(12)))
    assert mock_openai.max_in_flight > 3


async def test_json_mode_default_reply_is_json(mock_openai):
    c = await complete(MODEL, USER, api_base=mock_openai.base_url, response_format={"type": "json_object"})
    assert json.loads(c.text) == {"echo": "hello there"}


async def test_broken_event_stream_is_retryable(mock_openai):
    mock_openai.enqueue(Reply.malformed_body())
    with pytest.raises(RetryableError):
        await complete(MODEL, USER, api_base=mock_openai.base_url, stream=True)


async def test_stream_that_is_not_an_event_stream_is_retryable(mock_openai):
    # a proxy answering a streaming request with a plain body: nothing usable arrives
    mock_openai.enqueue(Reply(not_sse=True))
    with pytest.raises(RetryableError):
        await complete(MODEL, USER, api_base=mock_openai.base_url, stream=True)
