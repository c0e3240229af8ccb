"""The Guardrail node and the PII finder: ok / violation routing with SKIP on the other port."""

from __future__ import annotations

import pytest

from nodes.guardrail import GuardrailNode
from studio.core.sharing import pii
from studio.core.catalogue.types import SKIP
from support.context import make_ctx


async def run(value, **params):
    ctx, _ = make_ctx(GuardrailNode, params, {"value": value})
    return await GuardrailNode().run(ctx)


def checks(out):
    return [p["check"] for p in out["violation"]["problems"]]


async def test_passing_value_goes_to_ok():
    out = await run("A short, polite answer.", max_length=100, must_match=r"answer", blocked_words=["refund"])
    assert out == {"ok": "A short, polite answer.", "violation": SKIP}


async def test_max_length():
    out = await run("x" * 11, max_length=10)
    assert out["ok"] is SKIP and checks(out) == ["max_length"]
    assert "11 characters" in out["violation"]["problems"][0]["message"]


async def test_regex_must_and_must_not():
    assert checks(await run("no ticket id here", must_match=r"TICKET-\d+")) == ["must_match"]
    assert checks(await run("see http://evil.example", must_not_match=r"https?://")) == ["must_not_match"]
    assert (await run("TICKET-42 done", must_match=r"TICKET-\d+"))["ok"] == "TICKET-42 done"


async def test_blocked_words_are_whole_words_any_case():
    out = await run("We offer a REFUND today", blocked_words=["refund", "lawsuit"])
    assert checks(out) == ["blocked_words"] and "refund" in out["violation"]["problems"][0]["message"]
    assert (await run("refunded orders", blocked_words=["refund"]))["ok"] == "refunded orders"


async def test_json_schema_on_objects_and_json_text():
    schema = {"type": "object", "required": ["score"], "properties": {"score": {"type": "number", "maximum": 1}}}
    assert (await run({"score": 0.4}, json_schema=schema))["ok"] == {"score": 0.4}
    out = await run({"score": 3}, json_schema=schema)
    assert checks(out) == ["json_schema"] and "at score" in out["violation"]["problems"][0]["message"]
    assert (await run('{"score": 0.9}', json_schema=schema))["ok"] == '{"score": 0.9}'
    assert checks(await run("not json", json_schema=schema)) == ["json_schema"]


async def test_pii_block():
    out = await run("Write to jane.doe@example.com or call +44 20 7946 0958", pii="block")
    assert checks(out) == ["pii"]
    assert "1 email" in out["violation"]["problems"][0]["message"] and "1 phone" in out["violation"]["problems"][0]["message"]
    assert out["violation"]["value"].startswith("Write to jane")


async def test_pii_redact_masks_and_passes():
    text = "Card 4111 1111 1111 1111, mail bob@corp.io, phone (555) 123-4567."
    out = await run(text, pii="redact")
    assert out["ok"] == "Card [card], mail [email], phone [phone]."
    assert out["violation"] is SKIP


async def test_pii_redact_inside_json_values():
    out = await run({"contact": {"email": "a.b@c.org"}, "notes": ["call 020 7946 0958"]}, pii="redact")
    assert out["ok"] == {"contact": {"email": "[email]"}, "notes": ["call [phone]"]}


async def test_pii_kinds_can_be_limited():
    out = await run("mail me: x@y.com", pii="block", pii_kinds=["card"])
    assert out["ok"] == "mail me: x@y.com"


async def test_several_problems_are_all_listed():
    out = await run("BUY NOW at http://spam.example " * 3, max_length=20, must_not_match="http", blocked_words=["buy now"])
    assert checks(out) == ["max_length", "must_not_match", "blocked_words"]


@pytest.mark.parametrize("text,kinds", [
    ("4111111111111111", ["card"]),             # Luhn-valid test Visa
    ("5500-0000-0000-0004", ["card"]),
    ("4111111111111112", []),                   # fails Luhn: not a card
    ("order 1234567890123", []),                # a long id is neither card nor phone
    ("on 2024-03-15 at noon", []),              # dates are not phone numbers
    ("+1 415 555 2671", ["phone"]),
    ("0612345678", ["phone"]),
    ("price 12.50 EUR", []),
    ("someone@sub.example.co.uk", ["email"]),
])
def test_pii_finder(text, kinds):
    assert [f.kind for f in pii.find(text)] == kinds


def test_luhn():
    assert pii.luhn_ok("79927398713") and not pii.luhn_ok("79927398710")


def test_parameter_checks():
    assert GuardrailNode.check_params(GuardrailNode.default_params()) == []
    bad = {**GuardrailNode.default_params(), "must_match": "(", "pii_kinds": ["ssn"], "json_schema": {"type": 5}}
    assert {n for n, _ in GuardrailNode.check_params(bad)} == {"must_match", "pii_kinds", "json_schema"}
