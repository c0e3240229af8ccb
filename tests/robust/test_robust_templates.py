"""Finding 1 and 2 of issue 13: flow-supplied templates and expressions at a bounded cost,
and Ctrl-C / SIGTERM winning over a template that holds the event loop."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import pytest

from robusthelp import REPO, node, no_traceback, orchestra, start, template_flow, text, wait_for_line, write_flow
from studio.core.catalogue import templates as T
from studio.core.running.events import read_trace

NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ who }}"


def _in_subprocess(code: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter: a hang shows as a timeout (a failure), not a stuck suite."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=timeout)


@pytest.mark.parametrize("source", ["{{ 9**(9**9) }}", "{% if 9**9**9 > 1 %}{{ x }}{% endif %}",
                                    "{{ (9**9**9) ~ x }}", "{{ 'a' * 9**9**9 }}"])
def test_listing_variables_does_not_fold_huge_constants(source):
    # port discovery (every repaint) used to compute 9**(9**9) while listing variables
    r = _in_subprocess(f"from studio.core.catalogue.templates import template_variables as v; print(v({source!r}))")
    assert r.returncode == 0, r.stderr
    assert "x" in r.stdout or r.stdout.strip() == "()"


def test_an_expression_with_a_huge_power_is_checked_and_refused_quickly():
    r = _in_subprocess("from studio.core.catalogue import templates as T\n"
                       "print(T.expression_problem('value > 9**(9**9)'))\n"
                       "try:\n    T.evaluate('value > 9**(9**9)', {'value': 1})\nexcept T.TemplateProblem as e:\n    print('refused:', e)")
    assert r.returncode == 0, r.stderr
    assert "None" in r.stdout and "refused:" in r.stdout and "too large" in r.stdout


def test_validate_of_a_shared_file_with_a_hostile_template_and_loop_condition_returns(tmp_path):
    flow = write_flow(tmp_path / "hostile.flow.json", [
        node("inp", "input", name="x"),
        node("t", "template", template="{{ 9**(9**9) }}{{ x }}"),
        node("loop", "loop", max_iterations=3, condition="value > 9**(9**9)"),
        node("out", "output", name="y"),
    ], [("inp.value", "t.x"), ("t.text", "loop.initial"), ("loop.current", "loop.feedback"), ("loop.done", "out.value")])
    r = orchestra(tmp_path, "validate", str(flow), timeout=60)
    no_traceback(r)
    assert r.returncode in (0, 1), text(r.stdout + r.stderr)


@pytest.mark.parametrize("source, why", [
    ("{{ 9**(9**9) }}", "too large"),
    ("{{ 'a' * 10**8 }}", "too large"),
    ("{{ [1] * 10**8 }}", "too large"),
    ("{{ 'x'|center(10**9) }}", "too large"),
    ("{{ 'x'|indent(10**9) }}", "too large"),
    ("{{ '{:>999999999}'.format(1) }}", "format width"),
    ("{{ '%0999999999d' % 1 }}", "format width"),
    ("{{ lipsum(10**9) }}", "too large"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", "characters"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}", "too large"),
    ("{% set l = [1] %}{% for i in range(60) %}{% set _ = l.extend(l) %}{% endfor %}{{ l|length }}", "too large"),
    ("{{ ([('x' * 10**6)] * 10**5)|join }}", "too large"),
    ("{{ range(10**9)|list }}", "too large"),
])
def test_hostile_templates_are_refused_with_a_clear_message(source, why):
    with pytest.raises(T.TemplateProblem) as info:
        T.render(source, {})
    assert why in str(info.value)


def test_nested_loops_stop_at_the_render_deadline(monkeypatch):
    monkeypatch.setattr(T, "RENDER_SECONDS", 0.2)
    with pytest.raises(T.TemplateProblem, match="ran longer than 0.2 s"):
        T.render(NESTED, {"who": "x"})
    # the loop inside jinja2's own filter code, not the template's lines
    with pytest.raises(T.TemplateProblem, match="ran longer"):
        T.render("{% for a in range(100000) %}{{ range(100000)|map('string')|map('length')|sum }}{% endfor %}", {})
    with pytest.raises(T.TemplateProblem, match="ran longer"):
        T.evaluate("(range(100000)|map('string')|map('length')|sum) * 0 + ([1] * 10**7)|map('string')|list|length > 1", {})


def test_ordinary_templates_and_expressions_still_work():
    assert T.render("Hi {{ name }}, {{ items|join(', ') }} {{ 2**10 }} {{ 'ab' * 3 }} {{ x|tojson }}",
                    {"name": "Bo", "items": ["a", "b"], "x": {"k": 1}}) == 'Hi Bo, a, b 1024 ababab {"k": 1}'
    assert T.render("{% for i in range(3) %}{{ i }}{% endfor %}", {}) == "012"
    assert T.evaluate("value.score > 0.5 and iteration < 3", {"value": {"score": 0.9}, "iteration": 1}) is True
    assert T.template_variables("{{ a ~ b }}{% if c ** 2 > 4 %}{{ d }}{% endif %}") == ("a", "b", "c", "d")


def test_cancel_renders_stops_a_render_at_once():
    T.cancel_renders()
    try:
        with pytest.raises(asyncio.CancelledError):
            T.render(NESTED, {"who": "x"})
        with pytest.raises(asyncio.CancelledError):
            T.evaluate("value ~ 'x'", {"value": 1})
    finally:
        T.allow_renders()
    assert T.render("{{ a ~ b }}", {"a": 1, "b": 2}) == "12"


async def test_render_async_keeps_the_loop_serving(monkeypatch):
    monkeypatch.setattr(T, "RENDER_SECONDS", 0.5)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    tick = asyncio.create_task(ticker())
    with pytest.raises(T.TemplateProblem):
        await T.render_async(NESTED, {"who": "x"})
    tick.cancel()
    assert ticks > 5  # the loop ran other work while the template rendered in a thread


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_a_runaway_render_cancels_the_run(tmp_path, sig, code):
    flow = template_flow(tmp_path / "slow.flow.json", NESTED)
    trace = tmp_path / "trace.jsonl"
    p = start(tmp_path, "run", str(flow), "--input", "who=x", "--trace", str(trace))
    try:
        # the node started (and the trace shows it while the render still runs)
        wait_for_line(trace, '"node_started","node":"t"', p)
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == code, text(err)
    assert "Traceback" not in text(err)
    events = read_trace(trace.read_bytes().splitlines())
    assert events[-1].type == "run_cancelled"
    assert "cancelled" in text(err) or "terminated" in text(err)
