"""docs/execution.md, one step: what a node's events and its result say on each path.

A step ends one of six ways (skipped, reused from a pin, stopped by the budget, retried,
failed into its error port, finished); the run view, the trace and ``orchestra run``
read every field of those events and results, so each field is pinned here exactly.
"""

from __future__ import annotations

from studio.core.catalogue.context import CostReport
from studio.core.catalogue.nodetype import NodeType, Port
from studio.core.catalogue.policy import POLICY_PARAMS
from studio.core.catalogue.types import SKIP, PortType
from studio.core.document.flowfile import model_from_document
from studio.core.errors import BudgetExceeded
from tests.guarantees import kinds
from tests.guarantees.kinds import failing_flow, flow, of_type, run


async def test_a_node_whose_required_input_was_skipped_says_why_and_is_skipped():
    model = flow({"inp": ("input", {"name": "x", "type": "any"}),
                  "gate": ("branch", {"cases": [{"name": "never", "when": "false"}]}),
                  "t": ("template", {"template": "never {{ v }}"}), "out": ("output", {"name": "r"})},
                 ["inp.value -> gate.value", "gate.never -> t.v", "t.text -> out.value"])
    result, events = await run(model, inputs={"x": 1})
    assert result.ok, result.error
    [skipped] = of_type(events, "node_skipped", "t")
    assert (skipped.scope, skipped.data) == ((), {"reason": "a required input was skipped"})
    assert result.results[("t", ())].status == "skipped"


async def test_a_pinned_output_is_reported_as_a_free_instant_cached_finish_with_its_key():
    model = flow({"inp": ("input", {"name": "x", "type": "any"}), "p": ("g_partial", {}),
                  "a": ("output", {"name": "a"}), "b": ("output", {"name": "b"})},
                 ["inp.value -> p.x", "p.a -> a.value", "p.b -> b.value"])
    _, first = await run(model, inputs={"x": 5})
    [done] = of_type(first, "node_finished", "p")
    key = done.data["cache_key"]
    # a pin that lacks a declared port: the port reads None, the error port SKIP
    result, events = await run(model, inputs={"x": 5}, pinned={"p": {"outputs": {"a": "pinned"}, "cache_key": key}})
    assert result.ok, result.error
    assert result.outputs == {"a": "pinned", "b": None}
    [cached] = of_type(events, "node_finished", "p")
    assert cached.scope == ()
    assert cached.data == {"outputs": {"a": "pinned", "b": None, "error": SKIP}, "latency_s": 0.0, "attempts": 0,
                           "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "cached": True, "cache_key": key}
    assert not of_type(events, "node_started", "p")
    assert result.results[("p", ())].status == "cached"


async def test_a_paid_node_stopped_by_the_budget_fails_before_its_first_attempt():
    model = flow({"inp": ("input", {"name": "x", "type": "any"}), "p1": ("g_plugin_paid", {"usd": 0.02}),
                  "p2": ("g_plugin_paid", {"usd": 0.02}), "out": ("output", {"name": "r"})},
                 ["inp.value -> p1.x", "p1.y -> p2.x", "p2.y -> out.value"])
    result, events = await run(model, inputs={"x": 1}, budget_usd=0.01)
    said = "budget of $0.0100 spent ($0.0200 so far); no further paid call was started"
    assert result.error == f"p2: {said}"
    [failed] = of_type(events, "node_failed", "p2")
    assert failed.scope == ()
    assert failed.data == {"error": said, "error_type": "BudgetExceeded", "attempt": 0,
                           "will_retry": False, "handled": False}
    r = result.results[("p2", ())]
    assert (r.status, r.error) == ("failed", said)


class SelfCheckingPaidNode(NodeType):
    """A paid node that checks the budget itself (as the LLM node does) and finds it spent."""

    type_id = "g_self_checking_paid"
    title = "Self-checking paid"
    paid = True
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)
    params = POLICY_PARAMS

    async def run(self, ctx):
        raise BudgetExceeded(0.5, 0.25)


async def test_a_budget_stop_inside_an_attempt_fails_the_node_at_that_attempt_without_retrying():
    reg = kinds.registry()
    reg.register(SelfCheckingPaidNode)
    doc = kinds.document({"inp": ("input", {"name": "x", "type": "any"}),
                          "p": ("g_self_checking_paid", {"retries": 3, "retry_backoff_s": 0.001}),
                          "out": ("output", {"name": "r"})}, ["inp.value -> p.x", "p.y -> out.value"])
    result, events = await run(model_from_document(doc, registry=reg), inputs={"x": 1}, budget_usd=1.0)
    assert (result.status, result.error_node) == ("budget_exceeded", "p")
    [failed] = of_type(events, "node_failed", "p")
    assert failed.scope == ()
    assert failed.data == {"error": str(BudgetExceeded(0.5, 0.25)), "error_type": "BudgetExceeded", "attempt": 1,
                           "will_retry": False, "handled": False}
    r = result.results[("p", ())]
    assert (r.status, r.error) == ("failed", str(BudgetExceeded(0.5, 0.25)))


async def test_a_retry_notice_names_the_error_its_type_the_attempt_and_the_wait_to_the_millisecond():
    # Retry-After 0.0123 s: the wait is exactly that, reported rounded to 0.012
    result, events = await run(failing_flow({"fail_times": 2, "retries": 2, "retry_after": 0.0123}), inputs={"x": 1})
    assert result.ok, result.error
    notices = of_type(events, "node_failed", "work")
    assert [(n.scope, n.data) for n in notices] == [
        ((), {"error": f"temporary failure {k}", "error_type": "RetryableError", "attempt": k, "will_retry": True,
              "retry_in_s": 0.012, "handled": False}) for k in (1, 2)]


async def test_a_failure_into_the_error_port_is_reported_with_its_value_and_the_result_says_failed():
    result, events = await run(failing_flow({"fail_times": 5, "retries": 1, "retry_backoff_s": 0.001}, wire_error=True),
                               inputs={"x": 1})
    assert result.ok, result.error
    last = of_type(events, "node_failed", "work")[-1]
    value = {"message": "temporary failure 2", "type": "RetryableError", "node": "work", "attempts": 2}
    assert last.scope == ()
    assert last.data == {"error": "temporary failure 2", "error_type": "RetryableError", "attempt": 2,
                         "will_retry": False, "handled": True, "outputs": {"y": SKIP, "error": value}}
    r = result.results[("work", ())]
    assert (r.status, r.error, r.attempts) == ("failed", "temporary failure 2", 2)
    assert isinstance(r.latency_s, float) and 0.0 < r.latency_s < 30.0


async def test_a_finished_node_reports_its_latency_in_its_event_and_its_result():
    model = flow({"inp": ("input", {"name": "x", "type": "any"}), "w": ("g_wait", {"ms": 20}),
                  "out": ("output", {"name": "r"})}, ["w.y -> out.value"])
    result, events = await run(model, inputs={"x": 1})
    assert result.ok, result.error
    [done] = of_type(events, "node_finished", "w")
    r = result.results[("w", ())]
    assert isinstance(r.latency_s, float) and 0.015 <= r.latency_s < 30.0
    assert done.data["latency_s"] == r.latency_s and done.data["attempts"] == r.attempts == 1


class NothingNode(NodeType):
    """A plugin whose run returns None instead of a dict of outputs."""

    type_id = "g_nothing"
    title = "Nothing"
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)

    async def run(self, ctx):
        return None


async def test_a_node_that_returns_no_dict_finishes_with_every_declared_port_none():
    reg = kinds.registry()
    reg.register(NothingNode)
    doc = kinds.document({"inp": ("input", {"name": "x", "type": "any"}), "n": ("g_nothing", {}),
                          "out": ("output", {"name": "r"})}, ["inp.value -> n.x", "n.y -> out.value"])
    result, events = await run(model_from_document(doc, registry=reg), inputs={"x": 1})
    assert result.ok, result.error
    assert result.outputs == {"r": None}
    [done] = of_type(events, "node_finished", "n")
    assert done.data["outputs"] == {"y": None, "error": SKIP}


async def test_a_node_skipped_for_its_kinds_reason_inside_a_fanout_is_skipped_in_its_instance():
    """Merge of only SKIPs is skipped by its kind's own rule; inside a fan-out the event
    names the instance's scope, like every other event there."""
    model = flow({"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {}),
                  "gate": ("branch", {"cases": [{"name": "never", "when": "false"}]}),
                  "m": ("merge", {"inputs": 2}), "co": ("collect", {}), "out": ("output", {"name": "r"})},
                 ["inp.value -> fo.items", "fo.item -> gate.value", "gate.never -> m.input_1",
                  "gate.never -> m.input_2", "m.value -> co.item", "co.results -> out.value"])
    result, events = await run(model, inputs={"items": [1, 2]})
    assert result.ok, result.error
    skipped = of_type(events, "node_skipped", "m")
    assert sorted(e.scope for e in skipped) == [(("fo", 0),), (("fo", 1),)]
    assert all(e.data["reason"] for e in skipped)


PRICE = 0.123456789  # more digits than the 8 a running total keeps


class ChattyPaidNode(NodeType):
    """A plugin making three calls per attempt, two priced and one of a model with no price,
    and reporting its progress between them."""

    type_id = "g_chatty_paid"
    title = "Chatty paid"
    paid = True
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)
    params = POLICY_PARAMS

    async def run(self, ctx):
        ctx.report_cost(CostReport(PRICE, 3, 2, "priced-model"))
        ctx.progress(kind="step", done=1, of=2)
        ctx.report_cost(CostReport(None, 5, 7, "unpriced-model"))
        ctx.report_cost(CostReport(PRICE, 3, 2, "priced-model"))
        return {"y": ctx.inputs.get("x")}


async def test_a_nodes_calls_tokens_and_costs_add_up_in_its_result_and_its_progress_events():
    reg = kinds.registry()
    reg.register(ChattyPaidNode)
    doc = kinds.document({"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {}),
                          "p": ("g_chatty_paid", {}), "co": ("collect", {}), "out": ("output", {"name": "r"})},
                         ["inp.value -> fo.items", "fo.item -> p.x", "p.y -> co.item", "co.results -> out.value"])
    result, events = await run(model_from_document(doc, registry=reg), inputs={"items": [1, 2]})
    assert result.ok, result.error
    for i in (0, 1):
        r = result.results[("p", (("fo", i),))]
        assert (r.calls, r.tokens_in, r.tokens_out, r.cost_unknown_calls) == (3, 11, 11, 1)
        assert abs(r.cost_usd - 2 * PRICE) < 1e-12
        mine = [e for e in of_type(events, "node_progress", "p") if e.scope == (("fo", i),)]
        assert [e.data for e in mine if e.data["kind"] == "step"] == [{"kind": "step", "done": 1, "of": 2}]
        assert [(e.data["model"], e.data["cost_usd"], e.data["tokens_in"], e.data["tokens_out"])
                for e in mine if e.data["kind"] == "cost"] == [("priced-model", PRICE, 3, 2), ("unpriced-model", None, 5, 7), ("priced-model", PRICE, 3, 2)]
    assert (result.totals["tokens_in"], result.totals["tokens_out"], result.totals["cost_unknown_calls"]) == (22, 22, 2)
    # each result names its own node and instance (the run host sends them as they are)
    assert all((r.node, r.scope) == key for key, r in result.results.items())
    assert result.totals["cost_usd"] == round(4 * PRICE, 8)
    # each cost event carries the run's total so far, to 8 decimals
    running = sorted(e.data["run_cost_usd"] for e in of_type(events, "node_progress", "p") if e.data["kind"] == "cost")
    assert running == [round(k * PRICE, 8) for k in (1, 1, 2, 3, 3, 4)]


class JsonInNode(NodeType):
    """A plugin with a JSON input: says what type of value reached it."""

    type_id = "g_json_in"
    title = "JSON in"
    inputs = (Port("j", PortType.JSON, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)

    async def run(self, ctx):
        j = ctx.inputs.get("j")
        return {"y": [type(j).__name__, j]}


async def test_a_list_reaches_a_json_input_as_the_list_itself():
    """list -> json is a lossless coercion that changes nothing (only -> text writes JSON text)."""
    reg = kinds.registry()
    reg.register(JsonInNode)
    doc = kinds.document({"inp": ("input", {"name": "xs", "type": "list"}), "j": ("g_json_in", {}),
                          "out": ("output", {"name": "r"})}, ["inp.value -> j.j", "j.y -> out.value"])
    result, _ = await run(model_from_document(doc, registry=reg), inputs={"xs": [1, "a"]})
    assert result.ok, result.error
    assert result.outputs == {"r": ["list", [1, "a"]]}


async def test_a_merges_started_event_shows_its_skipped_inputs_as_skip():
    """What a node received is in its node_started event, a Merge's SKIPs included: the run
    view shows which inputs carried nothing."""
    model = flow({"inp": ("input", {"name": "x", "type": "any"}),
                  "gate": ("branch", {"cases": [{"name": "never", "when": "false"}]}),
                  "t": ("template", {"template": "live {{ v }}"}), "m": ("merge", {"inputs": 2}),
                  "out": ("output", {"name": "r"})},
                 ["inp.value -> gate.value", "inp.value -> t.v", "gate.never -> m.input_1", "t.text -> m.input_2",
                  "m.value -> out.value"])
    result, events = await run(model, inputs={"x": 1})
    assert result.ok, result.error
    [started] = of_type(events, "node_started", "m")
    assert started.data["inputs"] == {"input_1": SKIP, "input_2": "live 1"}


SEEN: dict = {}


class ContextNode(NodeType):
    """A plugin that records what its context tells it and checks the budget itself."""

    type_id = "g_context"
    title = "Context"
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)
    params = POLICY_PARAMS

    async def run(self, ctx):
        SEEN[(ctx.node_id, ctx.scope)] = {"run_id": ctx.run_id, "flow_name": ctx.flow_name, "iteration": ctx.iteration,
                                          "pricing": ctx.settings.get("pricing"), "timeout_s": ctx.timeout_s}
        ctx.ensure_budget()
        return {"y": ctx.inputs.get("x")}


async def test_a_node_is_told_its_run_flow_iteration_prices_and_policy_and_can_check_the_budget():
    reg = kinds.registry()
    reg.register(ContextNode)
    doc = kinds.document({"inp": ("input", {"name": "x", "type": "any"}), "c": ("g_context", {"timeout_s": 7}),
                          "out": ("output", {"name": "r"})}, ["inp.value -> c.x", "c.y -> out.value"], name="told")
    doc["pricing"] = {"flow/model": {"input_per_1m": 1.0, "output_per_1m": 2.0}}
    SEEN.clear()
    given = {"caller/model": {"input_per_1m": 3.0, "output_per_1m": 4.0}}
    result, events = await run(model_from_document(doc, registry=reg), inputs={"x": 1}, run_id="run-42",
                               settings={"pricing": given})
    assert result.ok, result.error
    assert SEEN[("c", ())] == {"run_id": "run-42", "flow_name": "told", "iteration": None, "timeout_s": 7,
                               "pricing": {**given, **doc["pricing"]}}
    assert result.totals["nodes"] == {"done": 3}
    # a budget already spent: the node's own check stops it (here it is not a paid node)
    result, _ = await run(model_from_document(doc, registry=reg), inputs={"x": 1}, budget_usd=0.0)
    assert (result.status, result.error_node) == ("budget_exceeded", "c")
    assert result.totals["nodes"] == {"done": 1, "failed": 1}


class TextInNode(NodeType):
    """A plugin with a text input: says what type of value reached it."""

    type_id = "g_text_in"
    title = "Text in"
    inputs = (Port("t", PortType.TEXT, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)

    async def run(self, ctx):
        t = ctx.inputs.get("t")
        return {"y": [type(t).__name__, t]}


async def test_a_list_carried_through_a_pass_through_node_reaches_a_text_input_as_json_text():
    """A Delay's output is 'any' but carries what came in: the plan coerces by the carried
    type, so a list reaches a text input as its JSON text, as it would straight from the list."""
    reg = kinds.registry()
    reg.register(TextInNode)
    doc = kinds.document({"inp": ("input", {"name": "xs", "type": "list"}), "d": ("delay", {"seconds": 0}),
                          "t": ("g_text_in", {}), "out": ("output", {"name": "r"})},
                         ["inp.value -> d.value", "d.value -> t.t", "t.y -> out.value"])
    result, _ = await run(model_from_document(doc, registry=reg), inputs={"xs": [1, "a"]})
    assert result.ok, result.error
    assert result.outputs == {"r": ["str", '[1, "a"]']}
