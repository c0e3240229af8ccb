"""The quick yes of input validation never says yes where jsonschema says no.

A served request's inputs are checked against the flow's interface; for plain interfaces a
few exact type checks answer "valid" without jsonschema. These tests hold that shortcut to
jsonschema's own verdict over arbitrary JSON values and every port type's schema.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from studio.serve.schema import TYPE_SCHEMAS, InputError, check_inputs, validator_for

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=6)
NAMES = st.sampled_from(["a", "b", "c", "zz"])


def schema_of(types: dict[str, str], required: list[str]) -> dict:
    props = {n: {**TYPE_SCHEMAS[t], "description": f"the {n}"} for n, t in types.items()}
    return {"type": "object", "properties": props, "required": [r for r in required if r in props],
            "additionalProperties": False}


@settings(max_examples=400, deadline=None)
@given(types=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(sorted(TYPE_SCHEMAS)), max_size=3),
       required=st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
       inputs=st.dictionaries(NAMES, JSON, max_size=4))
def test_the_quick_yes_agrees_with_jsonschema(types, required, inputs):
    v = validator_for(schema_of(types, required))
    valid = not list(v.jsonschema.iter_errors(inputs))
    if v.surely_valid(inputs):
        assert valid
    try:
        assert check_inputs(v, inputs) == inputs and valid
    except InputError:
        assert not valid


def test_the_usual_requests_take_the_quick_yes_and_the_wrong_ones_get_the_reason():
    v = validator_for(schema_of({"question": "text", "n": "number", "flag": "boolean", "data": "json"}, ["question"]))
    assert v.surely_valid({"question": "why?", "n": 2.5, "flag": True, "data": {"x": [1]}})
    assert v.surely_valid({"question": "why?", "n": 3})
    for wrong, field in (({"question": "why?", "n": True}, "n"), ({"n": 1}, "question"), ({"question": 1}, "question"),
                         ({"question": "q", "other": 1}, "other")):
        assert not v.surely_valid(wrong)
        try:
            check_inputs(v, wrong)
        except InputError as exc:
            assert exc.field == field
        else:
            raise AssertionError(f"{wrong} passed")
    messages = validator_for(schema_of({"history": "messages"}, ["history"]))
    assert not messages.surely_valid({"history": []})  # a nested schema: jsonschema decides
    assert check_inputs(messages, {"history": [{"role": "user", "content": "hi"}]})
