"""Guardrail: checks a value and routes it to ``ok`` or ``violation`` (the other gets SKIP).

Checks: maximum length, a regex that must match, one that must not, blocked words, a
JSON Schema, and personal data (e-mail, phone, card numbers) either blocked or masked.
Masking is not a violation: the masked value goes on to ``ok``. ``violation`` carries
the value and every problem found, so a flow can report, repair or ask a human.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from studio.core.sharing import pii
from studio.core.errors import NodeFailure
from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.types import SKIP, PortType


class GuardrailNode(NodeType):
    type_id = "guardrail"
    title = "Guardrail"
    category = "AI"
    description = "Check a value (length, patterns, blocked words, JSON schema, personal data); ok or violation."
    inputs = (Port("value", PortType.ANY, "The value to check (text or JSON)."),)
    outputs = (
        Port("ok", PortType.ANY, "The value (with personal data masked, if asked) when every check passes.", required=False,
             carries="value"),
        Port("violation", PortType.JSON, "{value, problems: [{check, message}]} when a check fails.", required=False),
    )
    params = (
        Param("max_length", "integer", 0, "Most characters allowed (0: no limit).", minimum=0),
        Param("must_match", "string", "", "A regular expression the text must contain a match of."),
        Param("must_not_match", "string", "", "A regular expression the text must not contain."),
        Param("blocked_words", "list", [], "Words or phrases that must not appear (whole words, any case)."),
        Param("json_schema", "json", None, "A JSON Schema the value (or the text parsed as JSON) must match.",
              nullable=True),
        Param("pii", "enum", "allow", "Personal data: allow it, block the value, or mask it.",
              choices=("allow", "block", "redact")),
        Param("pii_kinds", "list", list(pii.KINDS), "Which personal data: email, phone, card.", advanced=True),
    )

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = super().check_params(params)
        for name in ("must_match", "must_not_match"):
            if params[name]:
                try:
                    re.compile(params[name])
                except re.error as exc:
                    problems.append((name, f"bad regular expression: {exc}"))
        kinds = params["pii_kinds"]
        if isinstance(kinds, list) and any(k not in pii.KINDS for k in kinds):
            problems.append(("pii_kinds", f"kinds are {', '.join(pii.KINDS)}"))
        schema = params["json_schema"]
        if schema is not None:
            import jsonschema

            try:
                jsonschema.validators.validator_for(schema).check_schema(schema)
            except (jsonschema.SchemaError, TypeError, AttributeError) as exc:
                problems.append(("json_schema", f"is not a valid JSON Schema: {getattr(exc, 'message', exc)}"))
        return problems

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        parts = []
        if params["max_length"]:
            parts.append(f"≤{params['max_length']} chars")
        if params["must_match"] or params["must_not_match"]:
            parts.append("regex")
        if params["blocked_words"]:
            parts.append(f"{len(params['blocked_words'])} blocked words")
        if params["json_schema"]:
            parts.append("schema")
        if params["pii"] != "allow":
            parts.append(f"PII: {params['pii']}")
        return ", ".join(parts) or "no checks"

    async def run(self, ctx) -> dict[str, Any]:
        value, problems = check_value(ctx.inputs.get("value"), ctx.params)
        if problems:
            return {"ok": SKIP, "violation": {"value": value, "problems": problems}}
        return {"ok": value, "violation": SKIP}


def _text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _mask_all(value: Any, kinds: list[str]) -> tuple[Any, int]:
    """``value`` with personal data masked in every string inside it; (masked, count)."""
    if isinstance(value, str):
        masked, found = pii.mask(value, kinds)
        return masked, len(found)
    if isinstance(value, dict):
        out, n = {}, 0
        for k, v in value.items():
            out[k], c = _mask_all(v, kinds)
            n += c
        return out, n
    if isinstance(value, list):
        items = [_mask_all(v, kinds) for v in value]
        return [v for v, _ in items], sum(c for _, c in items)
    return value, 0


def check_value(value: Any, params: Mapping[str, Any]) -> tuple[Any, list[dict[str, str]]]:
    """(value after masking, problems); no problems means the value passes."""
    problems: list[dict[str, str]] = []
    kinds = [k for k in (params["pii_kinds"] or list(pii.KINDS)) if k in pii.KINDS]
    mode = params["pii"]
    if mode == "redact":
        value, _ = _mask_all(value, kinds)
    elif mode == "block":
        found = pii.find(_text_of(value), kinds)
        if found:
            counts: dict[str, int] = {}
            for f in found:
                counts[f.kind] = counts.get(f.kind, 0) + 1
            what = ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in counts.items())
            problems.append({"check": "pii", "message": f"contains personal data: {what}"})
    text = _text_of(value)

    limit = int(params["max_length"] or 0)
    if limit and len(text) > limit:
        problems.append({"check": "max_length", "message": f"{len(text)} characters, more than the limit of {limit}"})
    try:
        if params["must_match"] and not re.search(params["must_match"], text):
            problems.append({"check": "must_match", "message": f"does not match {params['must_match']!r}"})
        if params["must_not_match"]:
            m = re.search(params["must_not_match"], text)
            if m:
                problems.append({"check": "must_not_match",
                                 "message": f"matches {params['must_not_match']!r} at {m.group()[:60]!r}"})
    except re.error as exc:
        raise NodeFailure(f"bad regular expression: {exc}") from None
    blocked = [w for w in params["blocked_words"] or [] if isinstance(w, str) and w.strip()]
    hits = [w for w in blocked if re.search(rf"(?<!\w){re.escape(w.strip())}(?!\w)", text, re.IGNORECASE)]
    if hits:
        problems.append({"check": "blocked_words", "message": f"contains blocked words: {', '.join(hits)}"})
    schema = params["json_schema"]
    if schema:
        problems += _schema_check(value, schema)
    return value, problems


def _schema_check(value: Any, schema: Mapping[str, Any]) -> list[dict[str, str]]:
    import jsonschema

    subject = value
    if isinstance(value, str):
        try:
            subject = json.loads(value)
        except ValueError:
            if schema.get("type") not in (None, "string"):
                return [{"check": "json_schema", "message": "is not JSON"}]
    validator = jsonschema.validators.validator_for(schema)(schema)
    out = []
    for err in sorted(validator.iter_errors(subject), key=lambda e: list(e.absolute_path))[:10]:
        where = "/".join(str(p) for p in err.absolute_path) or "the top level"
        out.append({"check": "json_schema", "message": f"at {where}: {err.message}"})
    return out


NODE_TYPE = GuardrailNode
