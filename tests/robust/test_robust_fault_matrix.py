"""Finding 3 of issue 13, as a matrix: each provider fault from the loopback server (real
HTTP, real litellm) -> attempts, final status, message, and cost counted once per billed
call. A run that recovers costs exactly what a clean run costs (the failed attempts were
not billed); a run that fails costs nothing.

| fault                        | attempts | status    | message (the node_failed event)                       |
|------------------------------|----------|-----------|--------------------------------------------------------|
| 429 with Retry-After, then ok| 2        | succeeded | rate limited by openai (429); it asked to wait 0.2 s   |
| 500, then ok                 | 2        | succeeded | openai failed (500): ...                               |
| 500 every time               | 3        | failed    | openai failed (500): ...                               |
| hang, then ok                | 2        | succeeded | no result within 1 s (timeout) / no answer ... in time |
| stream cut by close, then ok | 2        | succeeded | ... ended before the provider said it was complete     |
| chunked stream cut, then ok  | 2        | succeeded | ... was cut off mid-stream (TransferEncodingError ...) |
| body cut by close (no stream)| 2        | succeeded | ... not valid JSON                                     |
| malformed JSON, then ok      | 2        | succeeded | ... answered with a body that is not valid JSON        |
| 401                          | 1        | failed    | openai rejected the API key (401)                      |
| connection refused           | 3        | failed    | cannot reach openai at http://127.0.0.1:PORT/v1: connection refused |
"""

from __future__ import annotations

import socket

import pytest

from robusthelp import flow_doc, node
from studio.core.document.flowfile import model_from_document
from studio.core.running.executor import RunOptions, start_run
from support.mock_openai import Reply

RETRIES = 2


def _flow(stream: bool = True, timeout_s: float = 10.0):
    return model_from_document(flow_doc([
        node("q", "input", name="q"),
        node("ask", "llm", model="openai/gpt-4o-mini", prompt="Answer {{ q }}", stream=stream,
             timeout_s=timeout_s, retries=RETRIES, retry_backoff_s=0.01),
        node("out", "output", name="answer"),
    ], [("q.value", "ask.q"), ("ask.text", "out.value")]))


async def _run(api_base: str, stream: bool = True, timeout_s: float = 10.0):
    # (litellm counts the tokens of a stream that brought no usage itself: the first time
    # in a process that loads a tokenizer, a second or more; hence 10 s, not 1 s, but 1 s
    # where the fault is a hang)
    run = start_run(_flow(stream, timeout_s), RunOptions(inputs={"q": "what is two and two"}, settings={"api_base": api_base},
                                              trace=False))
    events: list = []
    run.add_listener(events.append)
    result = await run.wait()
    failures = [e for e in events if e.type == "node_failed" and e.node == "ask"]
    return result, failures


FAULTS = {
    "429": (lambda: [Reply.rate_limited(0.2)], 2, "succeeded", "rate limited by openai (429); it asked to wait 0.2 s"),
    "500": (lambda: [Reply.server_error()], 2, "succeeded", "openai failed (500)"),
    "500 every time": (lambda: [Reply.server_error()] * 3, 3, "failed", "openai failed (500)"),
    "hang": (lambda: [Reply.hanging()], 2, "succeeded", " 1 s"),
    "stream cut by close": (lambda: [Reply.truncated("close")], 2, "succeeded",
                            "ended before the provider said it was complete"),
    "chunked stream cut": (lambda: [Reply.truncated("chunked")], 2, "succeeded", "was cut off mid-stream"),
    "malformed JSON": (lambda: [Reply.malformed_body()], 2, "succeeded", "answered with a body that is not valid JSON"),
    "401": (lambda: [Reply.unauthorized()], 1, "failed", "openai rejected the API key (401)"),
}


@pytest.fixture
async def clean_cost(mock_openai):
    result, _ = await _run(mock_openai.base_url)
    assert result.status == "succeeded" and result.totals["cost_usd"] > 0
    mock_openai.requests.clear()
    return result.totals


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_matrix(mock_openai, clean_cost, fault):
    replies, attempts, status, message = FAULTS[fault]
    mock_openai.enqueue(*replies())
    result, failures = await _run(mock_openai.base_url, timeout_s=1.0 if fault == "hang" else 10.0)
    assert result.status == status, result.error
    assert mock_openai.count == attempts  # every attempt reached the server once
    assert result.results[("ask", ())].attempts == attempts
    assert len(failures) == (attempts - 1 if status == "succeeded" else attempts)
    assert all(message in e.data["error"] for e in failures), [e.data["error"] for e in failures]
    assert [e.data["will_retry"] for e in failures] == [True] * (attempts - 1) + ([False] if status == "failed" else [])
    if status == "succeeded":
        # the answer is the complete one, never the truncated text; billed once
        assert result.outputs["answer"] == "echo: Answer what is two and two"
        assert result.totals["cost_usd"] == pytest.approx(clean_cost["cost_usd"])
        assert (result.totals["tokens_in"], result.totals["tokens_out"]) == (clean_cost["tokens_in"], clean_cost["tokens_out"])
    else:
        assert message in result.error
        assert result.totals["cost_usd"] == 0 and result.totals["tokens_out"] == 0


async def test_rate_limit_waits_as_long_as_the_provider_asked(mock_openai):
    mock_openai.enqueue(Reply.rate_limited(0.3))
    result, failures = await _run(mock_openai.base_url)
    assert result.status == "succeeded"
    assert failures[0].data["retry_in_s"] >= 0.3


@pytest.mark.parametrize("how, message", [("close", "not valid JSON"), ("chunked", "was cut off")])
async def test_a_cut_body_without_streaming_is_retried_too(mock_openai, clean_cost, how, message):
    mock_openai.enqueue(Reply.truncated(how))
    result, failures = await _run(mock_openai.base_url, stream=False)
    assert result.status == "succeeded", result.error
    assert mock_openai.count == 2 and message in failures[0].data["error"]
    assert result.totals["cost_usd"] == pytest.approx(clean_cost["cost_usd"])


async def test_connection_refused_names_the_url_and_the_cause(mock_openai):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    result, failures = await _run(url)
    assert result.status == "failed"
    assert len(failures) == RETRIES + 1
    assert f"cannot reach openai at {url}: connection refused" in result.error
    assert "(500)" not in result.error
    assert result.totals["cost_usd"] == 0
