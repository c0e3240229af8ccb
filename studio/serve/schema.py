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


# a plain property's JSON Schema type -> the exact Python types (as JSON decodes) that
# surely have it; bool is not a number here, as in JSON Schema
_SURE_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "number": (int, float), "boolean": (bool,),
                                            "array": (list,)}


class InputValidator:
    """A Draft 2020-12 validator of a flow's input schema, with a quick yes for the usual case.

    jsonschema's verdict on a valid request was ~25 us of every served request. When every
    property is plain (only a ``type`` among string, number, boolean, array, or none at all)
    a few exact type checks say "surely valid" for most requests; anything else -- a wrong
    type, a subclass, a nested schema -- goes to jsonschema, which alone says what is wrong.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.jsonschema = Draft202012Validator(schema)
        self._plain: dict[str, tuple[type, ...] | None] | None = self._plain_types(schema)
        self._required = frozenset(schema.get("required", ()))

    @staticmethod
    def _plain_types(schema: dict[str, Any]) -> dict[str, tuple[type, ...] | None] | None:
        if set(schema) - {"type", "properties", "required", "additionalProperties"} or \
                schema.get("type") != "object" or schema.get("additionalProperties") is not False:
            return None
        plain: dict[str, tuple[type, ...] | None] = {}
        for name, prop in schema.get("properties", {}).items():
            if set(prop) - {"type", "description", "default"}:
                return None
            if "type" not in prop:
                plain[name] = None  # any value
            elif isinstance(prop["type"], str) and prop["type"] in _SURE_TYPES:
                plain[name] = _SURE_TYPES[prop["type"]]
            else:
                return None
        return plain

    def surely_valid(self, inputs: Mapping[str, Any]) -> bool:
        """True only for inputs the schema accepts; False means "ask jsonschema"."""
        plain = self._plain
        if plain is None or not self._required.issubset(inputs.keys()):
            return False
        for name, value in inputs.items():
            if name not in plain:
                return False
            types = plain[name]
            if types is not None and type(value) not in types:
                return False
        return True

    def iter_errors(self, inputs: Any):
        return self.jsonschema.iter_errors(inputs)


def validator_for(schema: dict[str, Any]) -> InputValidator:
    return InputValidator(schema)


def check_inputs(validator: InputValidator, inputs: Any) -> dict[str, Any]:
    """The inputs, when they fit the validator's schema; InputError (field, reason) when not."""
    if not isinstance(inputs, Mapping):
        raise InputError("inputs", "must be a JSON object of input name: value")
    if validator.surely_valid(inputs):
        return dict(inputs)
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
