"""docs/execution.md, Per node: timeout per attempt, retries, backoff, Retry-After, error port."""

from __future__ import annotations

import random

from studio.core.errors import BudgetExceeded, NodeFailure, RetryableError
from studio.core.running.retry import RetryPolicy, is_retryable
from tests.guarantees.kinds import LOG, STATE, failing_flow, flow, of_type, run


async def test_retryable_failures_are_retried_up_to_retries_then_succeed():
    result, events = await run(failing_flow({"fail_times": 2, "retries": 2, "retry_backoff_s": 0.001}), inputs={"x": 7})
    assert result.ok, result.error
    assert result.outputs == {"result": 7}
    notices = of_type(events, "node_failed", "work")
    assert [e.data["will_retry"] for e in notices] == [True, True]
    assert [e.data["attempt"] for e in notices] == [1, 2]
    assert of_type(events, "node_finished", "work")[0].data["attempts"] == 3


async def test_one_retry_too_few_fails_naming_the_node_and_the_attempts():
    result, events = await run(failing_flow({"fail_times": 2, "retries": 1, "retry_backoff_s": 0.001}), inputs={"x": 7})
    assert result.status == "failed" and result.error_node == "work"
    assert "temporary failure 2" in result.error
    assert [e.data["will_retry"] for e in of_type(events, "node_failed", "work")] == [True, False]
    assert result.results[("work", ())].attempts == 2


async def test_other_errors_fail_at_once_whatever_the_retries():
    result, events = await run(failing_flow({"retryable": False, "retries": 5, "retry_backoff_s": 0.001}), inputs={"x": 7})
    assert result.status == "failed"
    assert len([a for a in LOG if a[0] == "attempt"]) == 1
    assert [e.data["will_retry"] for e in of_type(events, "node_failed", "work")] == [False]


async def test_retry_after_from_the_provider_is_used_as_given():
    # a backoff of 300 s would time the test out; the server's 0.05 s is what is waited
    result, events = await run(failing_flow({"fail_times": 1, "retries": 1, "retry_backoff_s": 300, "retry_after": 0.05}),
                               inputs={"x": 1})
    assert result.ok, result.error
    [notice] = of_type(events, "node_failed", "work")
    assert notice.data["retry_in_s"] == 0.05


async def test_timeout_bounds_one_attempt_and_a_timeout_is_retried():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}),
         "slow": ("g_hold", {"timeout_s": 0.05, "retries": 1, "retry_backoff_s": 0.001}),
         "out": ("output", {"name": "result"})},
        ["inp.value -> slow.x", "slow.y -> out.value"])
    result, events = await run(model, inputs={"x": 1})
    assert result.status == "failed" and result.error_node == "slow"
    assert "timeout" in result.error
    fails = of_type(events, "node_failed", "slow")
    assert [e.data["will_retry"] for e in fails] == [True, False]
    assert len(STATE["cancelled"]) == 2  # each attempt was cut off, not left running


async def test_a_wired_error_port_turns_the_final_failure_into_a_value_and_the_run_goes_on():
    result, events = await run(failing_flow({"fail_times": 5, "retries": 1, "retry_backoff_s": 0.001}, wire_error=True),
                               inputs={"x": 1})
    assert result.ok, result.error
    assert "result" not in result.outputs  # every other output is SKIP
    err = result.outputs["error"]
    assert set(err) == {"message", "type", "node", "attempts"}
    assert err["node"] == "work" and err["attempts"] == 2 and err["type"] == "RetryableError"
    assert "temporary failure 2" in err["message"]
    assert of_type(events, "node_failed", "work")[-1].data["handled"] is True


def test_backoff_doubles_from_retry_backoff_s_with_jitter_between_half_and_one_and_a_half():
    policy = RetryPolicy(retries=5, backoff_s=0.5)
    err = RetryableError("503")

    class Fixed(random.Random):
        def __init__(self, u: float):
            super().__init__(0)
            self.u = u

        def uniform(self, a, b):
            assert (a, b) == (0.5, 1.5)
            return self.u

    assert [policy.delay(k, err, Fixed(1.0)) for k in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert policy.delay(3, err, Fixed(0.5)) == 1.0 and policy.delay(3, err, Fixed(1.5)) == 3.0
    rng = random.Random(1)
    for k in range(1, 6):
        d = policy.delay(k, err, rng)
        assert 0.5 * 0.5 * 2 ** (k - 1) <= d <= 1.5 * 0.5 * 2 ** (k - 1)


def test_backoff_is_capped_at_sixty_seconds_before_jitter():
    class One(random.Random):
        def uniform(self, a, b):
            return 1.0

    policy = RetryPolicy(retries=10, backoff_s=1.0)
    assert policy.delay(7, RetryableError("x"), One()) == 60.0
    assert policy.delay(6, RetryableError("x"), One()) == 32.0


def test_retry_after_wins_over_backoff_and_is_bounded():
    policy = RetryPolicy(retries=3, backoff_s=100)
    assert policy.delay(1, RetryableError("429", retry_after=0.0)) == 0.0
    assert policy.delay(2, RetryableError("429", retry_after=7)) == 7.0
    assert policy.delay(1, RetryableError("429", retry_after=10_000)) == 600.0


def test_what_is_worth_retrying():
    assert is_retryable(RetryableError("5xx"))
    assert is_retryable(TimeoutError())
    assert is_retryable(ConnectionResetError())
    assert not is_retryable(NodeFailure("bad request"))
    assert not is_retryable(ValueError("bug"))
    assert not is_retryable(BudgetExceeded(1.0, 0.5))


def test_an_error_without_retry_after_backs_off_normally():
    class Half(random.Random):
        def uniform(self, a, b):
            return 1.0

    # TimeoutError and ConnectionError carry no retry_after attribute at all
    assert RetryPolicy(retries=2, backoff_s=2.0).delay(2, TimeoutError(), Half()) == 4.0
    assert RetryPolicy(retries=2, backoff_s=2.0).delay(1, ConnectionResetError(), Half()) == 2.0


async def test_retries_zero_means_one_attempt_even_for_a_retryable_error():
    result, events = await run(failing_flow({"fail_times": 1, "retries": 0, "retry_backoff_s": 0.001}), inputs={"x": 1})
    assert result.status == "failed"
    assert [a[2] for a in LOG if a[0] == "attempt"] == [1]
    assert [e.data["will_retry"] for e in of_type(events, "node_failed", "work")] == [False]


async def test_the_first_retry_waits_about_retry_backoff_s():
    result, events = await run(failing_flow({"fail_times": 1, "retries": 1, "retry_backoff_s": 0.2}), inputs={"x": 1})
    assert result.ok
    [notice] = of_type(events, "node_failed", "work")
    assert 0.1 <= notice.data["retry_in_s"] <= 0.3  # 0.2 s x jitter 0.5-1.5
    STATE["calls"].clear()
    result, events = await run(failing_flow({"fail_times": 1, "retries": 1, "retry_backoff_s": 0}), inputs={"x": 1})
    assert result.ok and of_type(events, "node_failed", "work")[0].data["retry_in_s"] == 0


async def test_a_node_that_fails_for_good_says_so_once_in_its_event_and_its_result():
    model = flow({"inp": ("input", {"name": "x", "type": "any"}),
                  "bad": ("g_fail", {"retryable": False, "retries": 2}), "out": ("output", {"name": "r"})},
                 ["inp.value -> bad.x", "bad.y -> out.value"])
    result, events = await run(model, inputs={"x": 7})
    [failed] = of_type(events, "node_failed", "bad")
    assert failed.scope == ()
    assert failed.data == {"error": "permanent failure for 7", "error_type": "NodeFailure", "attempt": 1,
                           "will_retry": False, "handled": False}
    r = result.results[("bad", ())]
    assert (r.status, r.error) == ("failed", "permanent failure for 7")
    assert (result.status, result.error_node) == ("failed", "bad")


def test_flow_invalid_counts_the_errors_and_quotes_the_first():
    from studio.core.document.problems import Problem
    from studio.core.running.plan import FlowInvalid

    warn = Problem("warning", "no_input", "the flow has no Input node")
    assert str(FlowInvalid([warn])) == "the flow has 0 error(s)"
    flow_level = Problem("error", "x", "something about the whole flow")
    node_level = Problem("error", "y", "bad wire", node="n1")
    assert str(FlowInvalid([warn, flow_level, node_level])) == \
        "the flow has 2 error(s); first: flow: something about the whole flow"
    assert str(FlowInvalid([node_level])) == "the flow has 1 error(s); first: n1: bad wire"
