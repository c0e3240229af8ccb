"""A model picks a Branch case (studio.llm.choose) -- through the loopback server and real litellm."""

from __future__ import annotations

import pytest

from nodes.branch import BranchNode
from studio.core.catalogue.types import SKIP
from studio.llm.choose import read_label
from support.context import make_ctx
from support.mock_openai import Reply

CASES = [{"name": "billing", "when": ""}, {"name": "bug", "when": ""}]


@pytest.mark.parametrize("reply,label", [
    ("billing", "billing"), ("Billing.", "billing"), ("`bug`", "bug"),
    ("I think this is a bug report.", "bug"), ("none of these", "default"), ("debugging", "default"),
])
def test_read_label(reply, label):
    assert read_label(reply, ["billing", "bug"]) == label


async def test_branch_in_model_mode_routes_by_the_models_answer(mock_openai):
    mock_openai.enqueue(Reply.text("Bug."))
    ctx, rec = make_ctx(BranchNode, {"mode": "model", "cases": CASES, "model": "openai/gpt-4o-mini",
                                     "instructions": "Route support tickets."},
                        {"value": "The app crashes when I click save"}, settings={"api_base": mock_openai.base_url})
    out = await BranchNode().run(ctx)
    assert out["route"] == "bug"
    assert out["bug"] == "The app crashes when I click save"
    assert out["billing"] is SKIP and out["default"] is SKIP
    body = mock_openai.requests[0].body
    assert body["temperature"] == 0
    assert "billing, bug" in body["messages"][0]["content"] and "Route support tickets." in body["messages"][0]["content"]
    assert len(rec.costs) == 1 and rec.costs[0].usd > 0


async def test_unrecognised_answer_goes_to_default(mock_openai):
    mock_openai.enqueue(Reply.text("I cannot decide"))
    ctx, _ = make_ctx(BranchNode, {"mode": "model", "cases": CASES, "model": "openai/gpt-4o-mini"}, {"value": "hm"},
                      settings={"api_base": mock_openai.base_url})
    assert (await BranchNode().run(ctx))["route"] == "default"


async def test_mock_mode_takes_the_first_case_without_calling(mock_openai):
    ctx, rec = make_ctx(BranchNode, {"mode": "model", "cases": CASES, "model": "openai/gpt-4o-mini"}, {"value": "x"},
                        mock=True)
    assert (await BranchNode().run(ctx))["route"] == "billing"
    assert mock_openai.count == 0
    assert len(rec.costs) == 1


async def test_mock_mode_takes_the_case_a_mock_response_names(mock_openai):
    ctx, _ = make_ctx(BranchNode, {"mode": "model", "cases": CASES, "model": "openai/gpt-4o-mini",
                                   "mock_responses": ["Bug."]}, {"value": "x"}, mock=True)
    assert (await BranchNode().run(ctx))["route"] == "bug"
    assert mock_openai.count == 0


def test_mock_responses_is_a_declared_branch_parameter():
    # regression: choose.py reads mock_responses, but the Branch did not declare it, so a flow that
    # set it (as docs/llm-and-tools.md says) got an unknown_param warning and the inspector hid it
    from studio.core.document.model import FlowModel
    from studio.core.document.commands import AddNode, UndoStack
    from studio.core.document.validation import validate

    assert "mock_responses" in {p.name for p in BranchNode.params}
    model = FlowModel("branch")
    UndoStack(model).push(AddNode("branch", node_id="route", params={
        "mode": "model", "cases": CASES, "mock_responses": ["bug"]}))
    assert [p for p in validate(model) if p.code == "unknown_param"] == []
