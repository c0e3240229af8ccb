"""A flow's interface as JSON Schema, and a request's inputs checked against it.

The schema is read off the compiled plan's Input nodes (their declared type, default and
description), so what GET /flows advertises is exactly what POST .../runs accepts. Inputs
are checked with ``jsonschema`` before anything runs: a bad request gets 422 naming the
field and the reason, and no run (no trace, no cost) is started for it.
"""

from __future__ import annotations

from typing import Any, Mapping

from jsonschema import Draft202012Validator

from studio.core.running.plan import Plan

_MESSAGE = {
    "type": "object",
    "properties": {"role": {"type": "string"}, "content": {}},
    "required": ["role"],
}

# port type -> JSON Schema of a value of that type
TYPE_SCHEMAS: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "json": {},
    "list": {"type": "array"},
    "messages": {"type": "array", "items": _MESSAGE},
    "any": {},
}


class InputError(Exception):
    """The request's inputs do not fit the flow's interface."""

    def __init__(self, field: str | None, reason: str):
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}" if field else reason)


def input_schema(plan: Plan) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name in sorted(plan.inputs):
        params = plan.nodes[plan.inputs[name]].params  # resolved: every declared param present
        prop = dict(TYPE_SCHEMAS.get(str(params["type"]), {}))
        if params["description"]:
            prop["description"] = params["description"]
        if params["default"] is not None:
            prop["default"] = params["default"]
        else:
            required.append(name)
        properties[name] = prop
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def output_schema(plan: Plan) -> dict[str, Any]:
    return {"type": "object", "properties": {name: {} for name in sorted(plan.outputs)}}


def validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema)


def check_inputs(validator: Draft202012Validator, inputs: Any) -> dict[str, Any]:
    """The inputs, when they fit the validator's schema; InputError (field, reason) when not."""
    if not isinstance(inputs, Mapping):
        raise InputError("inputs", "must be a JSON object of input name: value")
    schema = validator.schema
    error = next(iter(sorted(validator.iter_errors(inputs), key=lambda e: list(e.path))), None)
    if error is None:
        return dict(inputs)
    if error.validator == "additionalProperties":
        extra = sorted(set(inputs) - set(schema.get("properties", {})))
        known = ", ".join(sorted(schema.get("properties", {}))) or "none"
        raise InputError(extra[0] if extra else None, f"the flow has no input of this name (it has: {known})")
    if error.validator == "required":
        missing = [n for n in schema.get("required", []) if n not in inputs]
        raise InputError(missing[0] if missing else None, "required: the flow needs this input and it has no default")
    field = ".".join(str(p) for p in error.path) or None
    return _raise(field, error.message)


def _raise(field: str | None, reason: str):
    raise InputError(field, reason)
