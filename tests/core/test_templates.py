"""Templates and expressions: variables become ports; the sandbox holds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.core.catalogue import templates
from studio.core.catalogue.templates import TemplateProblem, evaluate, expression_problem, render, template_variables


def test_variables_in_order_of_first_appearance() -> None:
    assert template_variables("Summarise {{ transcript }} for {{ audience }}; again {{ transcript }}") == ("transcript", "audience")
    assert template_variables("{% for x in items %}{{ x.name }} {{ sep }}{% endfor %}") == ("items", "sep")
    assert template_variables("{{ a | upper }} {{ b ~ c }} {# {{ hidden }} #}") == ("a", "b", "c")
    assert template_variables("{{ range(3) | list }} {{ true }} {{ none }}") == ()
    assert template_variables("plain text, no braces") == ()


def test_syntax_errors_are_template_problems() -> None:
    with pytest.raises(TemplateProblem, match="line 1"):
        template_variables("{{ unclosed")
    with pytest.raises(TemplateProblem):
        template_variables("{{ " + "(" * 5000 + " }}")  # deep nesting never escapes as RecursionError
    assert expression_problem("value >") is not None
    assert expression_problem("(" * 5000) is not None
    assert expression_problem("value.score > 0.8") is None


SLOT_NAMES = st.sampled_from(["a", "b", "text", "x_1", "none", "true", "range", "self", "not", "loop"])
PIECES = st.one_of(SLOT_NAMES.map(lambda n: "{{ %s }}" % n), SLOT_NAMES.map(lambda n: "{{%s}}" % n),
                   st.sampled_from(["text ", "{", "}", "{{", "}}", "{%", "{#", "#}", " {{ a.b }} ", "{{ a|upper }}", "\n"]),
                   st.text(max_size=5))


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.lists(PIECES, max_size=8).map("".join))
def test_fast_path_agrees_with_jinja(source: str) -> None:
    """The regex shortcut for plain {{ name }} slots gives exactly what jinja2's parser
    gives (or both refuse the template)."""
    try:
        slow = templates._parsed_variables(source)
    except TemplateProblem:
        slow = "error"
    try:
        fast = template_variables(source)
    except TemplateProblem:
        fast = "error"
    assert fast == slow


VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=5),
                   st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(st.lists(st.one_of(PIECES, st.sampled_from(["{{{ a }}}", "\r\n", "{{- a }}", "{{ b -}}"])), max_size=8).map("".join),
       st.dictionaries(st.sampled_from(["a", "b", "text", "x_1"]), VALUES))
def test_render_fast_path_agrees_with_jinja(source: str, values: dict) -> None:
    """render's shortcut for plain slots gives exactly jinja2's text, or both fail."""
    try:
        slow = templates._compiled(source).render(**values)
    except Exception:
        slow = "error"
    try:
        fast = render(source, values)
    except TemplateProblem:
        fast = "error"
    assert fast == slow


def test_render_and_evaluate() -> None:
    assert render("Hi {{ name }}!", {"name": "Ada"}) == "Hi Ada!"
    assert render("{{ data | tojson }}", {"data": {"é": 1}}) == '{"é": 1}'
    assert evaluate("value.score > 0.8", {"value": {"score": 0.9}}) is True
    with pytest.raises(TemplateProblem, match="undefined"):
        render("{{ missing }}", {})


@pytest.mark.parametrize("escape", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ x.__class__ }}",
    "{{ x | attr('__class__') }}",
    "{{ '{0.__class__}'.format(x) }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ x.__dict__ }}",
])
def test_sandbox_refuses_attribute_escapes(escape: str) -> None:
    with pytest.raises(TemplateProblem):
        render(escape, {"x": 1})


@pytest.mark.parametrize("expr", ["value.__class__", "value.__class__.__mro__", "value | attr('__globals__')"])
def test_expressions_are_sandboxed_too(expr: str) -> None:
    with pytest.raises(TemplateProblem):
        evaluate(expr, {"value": evaluate})


def test_a_guarded_render_leaves_no_garbage_cycle() -> None:
    """Every render of a template with filters runs under the deadline guard; its closures
    must be freed by reference counting: between runs gctune collects only generation 0,
    so a cycle that outlives its run waits for a full pass of the whole heap."""
    import gc

    assert render("{{ text | trim }}", {"text": " warm "}) == "warm"  # compiled and cached
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(20):
            assert render("{{ text | trim }}", {"text": " x "}) == "x"
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()
