"""Flows that used to validate clean and then fail at run time are errors in the studio's
Problems panel too, with a hint (the same validation the CLI runs)."""

from __future__ import annotations

import json

FLOWS = {
    "no_model": {
        "nodes": [{"id": "q", "type": "input"}, {"id": "ask", "type": "llm", "params": {"model": ""}},
                  {"id": "out", "type": "output"}],
        "edges": [{"from": "q.value", "to": "ask.input"}, {"from": "ask.text", "to": "out.value"}],
        "expect": ("ask", "bad_param", "model"),
    },
    "loop_done_into_items": {
        "nodes": [{"id": "q", "type": "input"}, {"id": "loop", "type": "loop"},
                  {"id": "step", "type": "template", "params": {"template": "{{ x }}!"}},
                  {"id": "fan", "type": "fanout"}, {"id": "col", "type": "collect"}, {"id": "out", "type": "output"}],
        "edges": [{"from": "q.value", "to": "loop.initial"}, {"from": "loop.current", "to": "step.x"},
                  {"from": "step.text", "to": "loop.feedback"}, {"from": "loop.done", "to": "fan.items"},
                  {"from": "fan.item", "to": "col.item"}, {"from": "col.results", "to": "out.value"}],
        "expect": ("fan", "type_mismatch", "list"),
    },
}


def test_run_refusals_show_as_errors_with_hints_in_the_problems_panel(qtbot, window, tmp_path):
    for name, spec in FLOWS.items():
        path = tmp_path / f"{name}.flow.json"
        path.write_text(json.dumps({"format": "orchestra-flow", "version": 1, "name": name,
                                    "nodes": spec["nodes"], "edges": spec["edges"]}))
        assert window.open_file(path)
        window.validation.run_now()
        node, code, word = spec["expect"]
        found = [p for p in window.problems.problems if p.node == node and p.code == code and p.is_error]
        assert found and word in found[0].message and found[0].hint, (name, window.problems.problems)
        tree = window.problems.tree
        rows = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
        row = next(r for r in rows if r.text(1).startswith(node))
        assert "hint:" in row.toolTip(2) and found[0].hint in row.toolTip(2)
        assert window.scene.nodes[node].problems  # the node carries the badge
