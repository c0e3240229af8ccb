"""Memory benchmark: what conversation memory costs a turn.

(a) read_append_ms: a session already holding 10,000 turns; one turn's memory work -- the
    Memory node reading the last 20 turns and the Remember node appending the new turn,
    both run as the executor runs them (their own NodeContext, database work off the
    event loop) -- median over 300 turns.
(b) turn_overhead_ms: a whole mock turn through the executor, with memory (message ->
    Memory -> LLM -> Remember -> reply, the session at its steady 20-turn window) minus
    the same turn without memory (the LLM given the very same 40-message history as a run
    input), medians over 300 interleaved turns each; so both LLM calls do identical work
    and the difference is memory's own.

Run: python tests/bench/bench_memory.py
The last line is one JSON object: {"bench": "memory", "read_append_ms": ..., "turn_overhead_ms": ...}.
Targets: read_append_ms < 5, turn_overhead_ms < 1.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("ORCHESTRA_DATA_DIR", tempfile.mkdtemp(prefix="orchestra-bench-memory-"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from nodes.memory import MemoryNode  # noqa: E402
from nodes.memory_save import RememberNode  # noqa: E402
from studio.core.catalogue.context import NodeContext  # noqa: E402
from studio.core.document.flowfile import model_from_document  # noqa: E402
from studio.core.document.interface import FLOW_SETTING, SESSION_SETTING, chat_interface  # noqa: E402
from studio.core.running.executor import RunOptions, run_flow  # noqa: E402
from studio.core.running.plan import compile_plan  # noqa: E402
from studio.core.userdata.conversations import open_store  # noqa: E402

TURNS = 10_000
WINDOW = 20
N = 300


def ctx(node_type, params, inputs, settings) -> NodeContext:
    return NodeContext(node_id=node_type.type_id, params={**node_type.default_params(), **params}, inputs=inputs,
                       settings=settings, run_id="bench")


async def read_append() -> tuple[float, float]:
    store = open_store("bench-read-append")
    t0 = time.perf_counter()
    for i in range(TURNS):
        store.append_turn("chat", "big", [{"role": "user", "content": f"question {i} about the order"},
                                          {"role": "assistant", "content": f"answer {i}: it ships on Friday"}])
    fill_s = time.perf_counter() - t0
    settings = {FLOW_SETTING: "bench-read-append", SESSION_SETTING: "big"}
    memory, remember = MemoryNode(), RememberNode()
    times = []
    for i in range(N):
        start = time.perf_counter()
        out = await memory.run(ctx(MemoryNode, {"max_turns": WINDOW}, {}, settings))
        await remember.run(ctx(RememberNode, {}, {"message": f"new {i}", "reply": f"reply {i}"}, settings))
        times.append(time.perf_counter() - start)
        assert len(out["history"]) == 2 * WINDOW
    assert store.turn_count("chat", "big") == TURNS + N
    return statistics.median(times) * 1000, fill_s


def flows():
    llm = {"model": "gpt-4o-mini", "prompt": "{{ message }}", "mock_responses": ["It ships on Friday."]}
    with_memory = model_from_document({
        "format": "orchestra-flow", "version": 1, "name": "bench memory turn",
        "nodes": [{"id": "message", "type": "input", "params": {"name": "message"}},
                  {"id": "memory", "type": "memory", "params": {"max_turns": WINDOW}},
                  {"id": "answer", "type": "llm", "params": llm},
                  {"id": "remember", "type": "memory_save", "params": {}},
                  {"id": "reply", "type": "output", "params": {"name": "reply"}}],
        "edges": [{"from": "message.value", "to": "answer.message"}, {"from": "memory.history", "to": "answer.messages"},
                  {"from": "message.value", "to": "remember.message"}, {"from": "answer.text", "to": "remember.reply"},
                  {"from": "remember.reply", "to": "reply.value"}]})
    without = model_from_document({
        "format": "orchestra-flow", "version": 1, "name": "bench plain turn",
        "nodes": [{"id": "message", "type": "input", "params": {"name": "message"}},
                  {"id": "history", "type": "input", "params": {"name": "history", "type": "messages"}},
                  {"id": "answer", "type": "llm", "params": llm},
                  {"id": "reply", "type": "output", "params": {"name": "reply"}}],
        "edges": [{"from": "message.value", "to": "answer.message"}, {"from": "history.value", "to": "answer.messages"},
                  {"from": "answer.text", "to": "reply.value"}]})
    return with_memory, without


async def turn_overhead() -> tuple[float, float, float]:
    with_memory, without = flows()
    iface = chat_interface(with_memory)
    plan_m, plan_p = compile_plan(with_memory), compile_plan(without)
    settings = iface.run_settings("steady")
    for i in range(WINDOW + 5):  # fill the window: from here on every turn sends 40 earlier messages
        await run_flow(plan_m, RunOptions(inputs={"message": f"warm {i}"}, mock=True, settings=settings, trace=False))
    history = [m.as_chat() for m in open_store(iface.flow_key).recent("chat", "steady", WINDOW)[1]]
    assert len(history) == 2 * WINDOW
    tm, tp = [], []
    for i in range(N):
        for plan, inputs, sink in ((plan_m, {"message": f"q {i}"}, tm),
                                   (plan_p, {"message": f"q {i}", "history": history}, tp)):
            start = time.perf_counter()
            result = await run_flow(plan, RunOptions(inputs=inputs, mock=True, settings=settings, trace=False))
            sink.append(time.perf_counter() - start)
            assert result.ok, result.error
    m, p = statistics.median(tm) * 1000, statistics.median(tp) * 1000
    return m - p, m, p


def main() -> None:
    gc.collect()
    ra, fill_s = asyncio.run(read_append())
    print(f"(a) {TURNS:,}-turn session ({fill_s:.1f} s to fill): read the last {WINDOW} turns + append one: "
          f"{ra:.3f} ms median over {N}")
    over, m, p = asyncio.run(turn_overhead())
    print(f"(b) mock turn with memory {m:.3f} ms, without {p:.3f} ms (same 40-message history): "
          f"memory adds {over:.3f} ms (medians over {N} each)")
    print(json.dumps({"bench": "memory", "read_append_ms": round(ra, 3), "turn_overhead_ms": round(over, 3)}))


if __name__ == "__main__":
    main()
