"""README, "Running with a real provider": a model with no known price costs *unknown*,
never $0; the flow's `pricing` section prices it. Real litellm against the loopback server."""

from __future__ import annotations

from support.mock_openai import Reply
from studio.core.document.flowfile import model_from_document
from tests.guarantees.kinds import document, of_type, registry, run


def _flow(pricing=None):
    doc = document({"inp": ("input", {"name": "x", "type": "text"}),
                    "ask": ("llm", {"model": "openai/my-llama", "prompt": "{{ q }}", "retries": 0}),
                    "out": ("output", {"name": "r"})},
                   ["inp.value -> ask.q", "ask.text -> out.value"])
    if pricing is not None:
        doc["pricing"] = pricing
    return model_from_document(doc, registry=registry())


async def test_the_flows_pricing_section_prices_an_unknown_model(mock_openai):
    mock_openai.enqueue(Reply.text("fine", usage=(1000, 500)))
    pricing = {"openai/my-llama": {"input_per_1m": 1000.0, "output_per_1m": 2000.0}}
    result, events = await run(_flow(pricing), inputs={"x": "hi"}, settings={"api_base": mock_openai.base_url})
    assert result.ok, result.error
    assert abs(result.totals["cost_usd"] - 2.0) < 1e-9 and result.totals["cost_unknown_calls"] == 0
    [done] = of_type(events, "node_finished", "ask")
    assert abs(done.data["cost_usd"] - 2.0) < 1e-9 and (done.data["tokens_in"], done.data["tokens_out"]) == (1000, 500)


async def test_without_a_price_the_cost_is_unknown_not_zero(mock_openai):
    mock_openai.enqueue(Reply.text("fine", usage=(1000, 500)))
    result, events = await run(_flow(), inputs={"x": "hi"}, settings={"api_base": mock_openai.base_url})
    assert result.ok, result.error
    assert result.totals["cost_unknown_calls"] == 1
    [done] = of_type(events, "node_finished", "ask")
    assert done.data["cost_usd"] is None
