"""A finished served run is freed by reference counting once the registry forgets it.

Why it matters: gctune freezes the heap at the start of a run whenever no other run is
going, and the unfreeze after it puts everything in the oldest generation; between runs
only generation 0 is collected, so anything a served request leaves in a reference cycle
that outlives its run waits for a full pass of the whole heap.
In-process: the real catalogue, launcher and registry, no HTTP.
"""

from __future__ import annotations

import gc
import weakref

from serving import flow_doc, write_flow


async def test_a_finished_served_run_is_freed_without_the_cycle_collector(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "data"))
    from studio.serve.catalogue import FlowCatalogue
    from studio.serve.launcher import Launcher, ServeSettings
    from studio.serve.limits import DailyBudget

    write_flow(tmp_path / "flows", "shout", flow_doc("Shout", [
        {"id": "topic", "type": "input", "params": {"name": "topic"}},
        {"id": "up", "type": "template", "params": {"template": "{{ topic | upper | trim }}"}},
        {"id": "done", "type": "output", "params": {"name": "done"}},
    ], [("topic.value", "up.topic"), ("up.text", "done.value")]))
    launcher = Launcher(FlowCatalogue([tmp_path / "flows"]), ServeSettings(mock=True, concurrency=4),
                        DailyBudget(None, None))
    launcher.registry.keep = 1
    flow = launcher.flow("shout")

    async def one(topic: str):
        served = launcher.launch(flow, {"topic": topic})
        await launcher.run_here(served)
        assert served.document["status"] == "succeeded" and served.document["outputs"] == {"done": topic.upper()}
        return weakref.ref(served), weakref.ref(served.run)

    await one("warm")  # imports, compiled templates, caches
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        refs = [await one(f"topic {i}") for i in range(5)]
        # the registry keeps only the newest; every older run is gone at once
        assert all(r() is None for pair in refs[:-1] for r in pair)
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()
    assert launcher.slots.active == 0
