"""Parameter schemas: checks, JSON Schema, dynamic ports of the structural types."""

from __future__ import annotations

import jsonschema
import pytest

from studio.core.catalogue.nodetype import Param
from studio.core.catalogue.registry import default_registry


@pytest.mark.parametrize("param,value,ok", [
    (Param("n", "integer", 1, minimum=1, maximum=10), 5, True),
    (Param("n", "integer", 1, minimum=1, maximum=10), 5.0, True),
    (Param("n", "integer", 1, minimum=1, maximum=10), 5.5, False),
    (Param("n", "integer", 1, minimum=1, maximum=10), 10**400, False),  # too big, and no OverflowError
    (Param("n", "integer", 1, minimum=1, maximum=10), True, False),
    (Param("n", "number", 1.0), float("inf"), False),
    (Param("n", "number", 1.0), "3", False),
    (Param("s", "string", "", required=True), "  ", False),
    (Param("s", "string", ""), 3, False),
    (Param("e", "enum", "a", choices=("a", "b")), "c", False),
    (Param("e", "enum", "a", choices=("a", "b")), ["a"], False),
    (Param("b", "boolean", False), 0, False),
    (Param("l", "list", []), {}, False),
    (Param("j", "json", None, nullable=True), None, True),
    (Param("j", "json", None), {"deep": [1]}, True),
    (Param("c", "cases", []), [{"name": "ok", "when": "value"}], True),
    (Param("c", "cases", []), [{"name": "default"}], False),
    (Param("c", "cases", []), [{"name": "a"}, {"name": "a"}], False),
    (Param("c", "cases", []), [{"name": "has space"}], False),
    (Param("c", "cases", []), [{"name": "a\n"}], False),
])
def test_param_check(param: Param, value, ok: bool) -> None:
    assert (param.check(value) is None) is ok


@pytest.mark.parametrize("nt", default_registry().types(), ids=lambda t: t.type_id)
def test_defaults_satisfy_the_json_schema_and_the_checks(nt) -> None:
    params = nt.default_params()
    for p in nt.params:
        schema = p.json_schema()
        jsonschema.validate(params[p.name], schema)
        if p.required and params[p.name] in ("", None):
            assert p.check(params[p.name]) is not None  # deliberately left for the user to fill in
            continue
        assert p.check(params[p.name]) is None, (p.name, params[p.name])


def test_json_schema_rejects_what_check_rejects() -> None:
    p = Param("n", "integer", 3, minimum=1, maximum=10)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(11, p.json_schema())
    nullable = Param("d", "string", None, nullable=True)
    jsonschema.validate(None, nullable.json_schema())


def test_dynamic_ports() -> None:
    reg = default_registry()
    template = reg.get("template")
    assert [p.name for p in template.input_ports({"template": "{{ b }} {{ a }} {{ b }}"})] == ["b", "a"]
    assert template.input_ports({"template": "{% if x %}"}) == ()  # broken: no ports, a bad_param instead
    assert any("template error" in why for _, why in template.resolve({"template": "{% if x %}"}).problems)
    branch = reg.get("branch")
    names = [p.name for p in branch.output_ports({"cases": [{"name": "hot"}, {"name": "cold"}]})]
    assert names == ["hot", "cold", "default", "route", "error"]
    merge = reg.get("merge")
    assert [p.name for p in merge.input_ports({"inputs": 3})] == ["input_1", "input_2", "input_3"]
    # out of range or the wrong type: reported by resolution, and the declared default stands
    assert len(merge.input_ports({"inputs": 10**9})) == 2 and len(merge.input_ports({"inputs": "x"})) == 2
    assert merge.resolve({"inputs": 10**9}).problems
    inp = reg.get("input")
    assert inp.output_ports({"type": "list"})[0].type.value == "list"
    assert inp.output_ports({"type": ["odd"]})[0].type.value == "text"  # the declared default stands...
    assert inp.resolve({"type": ["odd"]}).problems  # ...and the stored value is reported
