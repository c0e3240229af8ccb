"""The run formatters (runstate): a small cost or a sub-millisecond time still says something."""

from studio.core.running.runstate import fmt_cost, fmt_latency


def test_a_cost_below_a_cent_keeps_two_significant_digits():
    assert fmt_cost(0.000123) == "$0.000123"  # six decimals already say enough
    assert fmt_cost(0.0000021) == "$0.0000021"  # one cheap call (a batch row), not $0.000002
    assert fmt_cost(2.13e-8) == "$0.000000021"  # not $0.000000
    assert fmt_cost(0.0000045, estimate=True) == "est. $0.0000045"
    assert fmt_cost(1234.5) == "$1,234.50"
    assert fmt_cost(0) == "$0" and fmt_cost(None) == "cost unknown"


def test_a_time_below_a_millisecond_is_not_zero():
    assert fmt_latency(0.00042) == "0.4 ms"
    assert fmt_latency(0.412) == "412 ms"
    assert fmt_latency(1.25) == "1.2 s"
