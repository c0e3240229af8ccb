"""Cost: litellm's price map, flow and user overrides, unknown as None (never 0, never a crash)."""

from __future__ import annotations

import json

import pytest

from studio.core.errors import NodeFailure
from studio.llm.pricing import cost_of, override_price, price_of


def test_gpt_4o_mini_costs_its_list_price(user_config):
    # $0.15 per million input tokens, $0.60 per million output tokens
    assert cost_of("openai/gpt-4o-mini", 1_000_000, 0) == pytest.approx(0.15)
    assert cost_of("gpt-4o-mini", 0, 1_000_000) == pytest.approx(0.60)
    assert cost_of("gpt-4o-mini", 2_000, 500) == pytest.approx(0.0006)


def test_unknown_model_is_none_not_zero(user_config):
    assert cost_of("openai/some-private-model", 100, 100) is None
    assert cost_of("totally-unknown", 100, 100) is None
    assert price_of("openai/some-private-model") is None


def test_flow_override_prices_an_unknown_model(user_config):
    pricing = {"openai/my-llama": {"input_per_1m": 1.0, "output_per_1m": 2.0}}
    assert cost_of("openai/my-llama", 1_000_000, 500_000, pricing) == pytest.approx(2.0)


def test_flow_override_beats_litellm_and_accepts_litellm_fields(user_config):
    pricing = {"gpt-4o-mini": {"input_cost_per_token": 1e-6, "output_cost_per_token": 0}}
    assert cost_of("gpt-4o-mini", 1000, 1000, pricing) == pytest.approx(0.001)


def test_user_pricing_file_applies_and_flow_wins_over_it(user_config):
    (user_config / "pricing.json").write_text(json.dumps({"openai/team-*": {"input_per_1m": 3, "output_per_1m": 3}}))
    assert cost_of("openai/team-model", 1_000_000, 0) == pytest.approx(3.0)
    flow = {"openai/team-model": {"input_per_1m": 1, "output_per_1m": 1}}
    assert cost_of("openai/team-model", 1_000_000, 0, flow) == pytest.approx(1.0)


def test_local_models_default_to_free_from_resources(user_config):
    assert cost_of("ollama/llama3.2", 5000, 5000) == 0.0
    assert cost_of("ollama_chat/qwen2.5", 10, 10) == 0.0


def test_malformed_override_names_the_model(user_config):
    with pytest.raises(NodeFailure, match="my-model"):
        override_price("my-model", {"my-model": {"input_per_1m": "cheap"}})
    with pytest.raises(NodeFailure, match="negative"):
        override_price("my-model", {"my-model": {"input_per_1m": -1, "output_per_1m": 1}})
    with pytest.raises(NodeFailure, match="must be an object"):
        override_price("my-model", {"my-model": 0.5})


def test_price_of_reports_per_token_prices(user_config):
    price = price_of("openai/gpt-4o-mini")
    assert price is not None
    assert price.input == pytest.approx(0.15e-6) and price.output == pytest.approx(0.6e-6)


def test_litellm_reported_cost_is_used_unless_an_override_applies(user_config, monkeypatch):
    from studio.llm import pricing

    monkeypatch.setattr(pricing._JsonFile, "RECHECK_S", 0.0)  # the pricing.json below is seen at once
    # the figure litellm computed for the response itself (cached tokens and all) is taken as is
    assert cost_of("gpt-4o-mini", 1000, 1000, reported=0.0123) == pytest.approx(0.0123)
    flow = {"gpt-4o-mini": {"input_per_1m": 1, "output_per_1m": 1}}
    assert cost_of("gpt-4o-mini", 1000, 1000, flow, reported=0.0123) == pytest.approx(0.002)
    (user_config / "pricing.json").write_text(json.dumps({"gpt-4o-mini": {"input_per_1m": 2, "output_per_1m": 2}}))
    assert cost_of("gpt-4o-mini", 1000, 1000, reported=0.0123) == pytest.approx(0.004)
    for junk in (None, "0.5", float("nan"), -1.0, True):  # not a usable figure: priced as usual
        assert cost_of("openai/some-private-model", 10, 10, reported=junk) is None


def test_an_edited_pricing_file_is_seen_by_the_next_lookup(user_config, monkeypatch):
    from studio.llm import pricing

    monkeypatch.setattr(pricing._JsonFile, "RECHECK_S", 0.0)  # the next run; here: the next call
    path = user_config / "pricing.json"
    path.write_text(json.dumps({"openai/team-model": {"input_per_1m": 3, "output_per_1m": 0}}))
    assert cost_of("openai/team-model", 1_000_000, 0) == pytest.approx(3.0)
    assert cost_of("openai/team-model", 1_000_000, 0) == pytest.approx(3.0)  # cached answer
    path.write_text(json.dumps({"openai/team-model": {"input_per_1m": 5, "output_per_1m": 0}, "x": {}}))
    import os

    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)  # a clearly newer file
    assert cost_of("openai/team-model", 1_000_000, 0) == pytest.approx(5.0)
    path.unlink()
    assert cost_of("openai/team-model", 1_000_000, 0) is None
