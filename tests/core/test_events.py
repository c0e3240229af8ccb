"""Event encoding: what orjson cannot hold still becomes a trace line, never a crash."""

from studio.core.running.events import Event, encode_event, read_trace
from studio.core.catalogue.types import SKIP


def test_values_orjson_refuses_take_the_careful_path():
    e = Event("node_finished", "n", (("each", 1),), 1.5, {"outputs": {"big": 10**30, "skip": SKIP}})
    line = encode_event(e)
    assert line.endswith(b"\n")
    back = read_trace([line])[0]
    assert back.data == {"outputs": {"big": 10**30, "skip": SKIP}}
    assert back.scope == (("each", 1),)


def test_a_cyclic_value_is_cut_not_recursed_forever():
    loop: list = []
    loop.append(loop)
    line = encode_event(Event("node_finished", "n", (), 0.0, {"outputs": {"v": loop}}))
    assert b"nested too deeply" in line
    assert read_trace([line])[0].type == "node_finished"
