"""Writes the fixture flows in tests/core/flows/ (run it after a format change).

    python tests/core/make_flows.py

Each fixture is built as a document, loaded and saved once, so the files on disk are
exactly what the saver writes; test_flowfile then checks that load -> save gives the
same bytes back for each of them. Not a test module (pytest collects test_*.py only).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from studio.core.document import flowfile  # noqa: E402

FLOWS = HERE / "flows"


def node(nid: str, type_id: str, x: float, y: float, title: str = "", **params: Any) -> dict[str, Any]:
    return {"id": nid, "type": type_id, "title": title or nid.replace("_", " ").capitalize(),
            "params": params, "layout": {"x": float(x), "y": float(y)}}


def wire(a: str, b: str) -> dict[str, str]:
    return {"from": a, "to": b}


def doc(name: str, nodes: list, edges: list, **extra: Any) -> dict[str, Any]:
    return {"format": flowfile.FORMAT, "version": flowfile.VERSION, "name": name, "nodes": nodes, "edges": edges, **extra}


def structural() -> dict[str, Any]:
    """Every structural node type in one valid flow, with frames, notes and the
    flow-level pricing, settings and tests sections."""
    nodes = [
        node("topic", "input", 0, 0, name="topic", type="text", description="What to research."),
        node("questions", "input", 0, 160, name="questions", type="list", default=["why?", "how?"]),
        node("draft", "template", 240, 0, template="Write about {{ topic }}."),
        node("triage", "branch", 480, 0, mode="keyword",
             cases=[{"name": "urgent", "when": "asap, urgent"}, {"name": "normal", "when": "later"}]),
        node("urgent_note", "template", 720, -80, template="URGENT: {{ text }}"),
        node("normal_note", "template", 720, 80, template="{{ text }}"),
        node("joined", "merge", 960, 0, inputs=3),
        node("refine", "loop", 1200, 0, max_iterations=3, condition="value | length > 40"),
        node("improve", "template", 1440, 0, template="Improve: {{ text }}"),
        node("per_question", "fanout", 240, 240, concurrency=4, on_item_error="keep", max_items=50),
        node("answer", "template", 480, 240, template="Q{{ index }}: {{ question }}"),
        node("answers", "collect", 720, 240, fanout="per_question"),
        node("review", "approval", 1680, 0, message="Publish this? {{ value }}", wait_s=60, on_timeout="reject"),
        node("polish", "subflow", 1920, 0, path="sub.flow.json"),
        node("article", "output", 2160, 0, name="article"),
        node("all_answers", "output", 960, 240, name="answers"),
        node("rejected", "output", 1920, 160, name="rejected"),
    ]
    nodes[4]["layout"].update(w=200.0, h=120.0)
    nodes[5]["layout"]["collapsed"] = True
    edges = [
        wire("topic.value", "draft.topic"),
        wire("draft.text", "triage.value"),
        wire("triage.urgent", "urgent_note.text"),
        wire("triage.normal", "normal_note.text"),
        wire("urgent_note.text", "joined.input_1"),
        wire("normal_note.text", "joined.input_2"),
        wire("triage.default", "joined.input_3"),
        wire("joined.value", "refine.initial"),
        wire("refine.current", "improve.text"),
        wire("improve.text", "refine.feedback"),
        wire("refine.done", "review.value"),
        wire("review.approved", "polish.text"),
        wire("review.rejected", "rejected.value"),
        wire("polish.result", "article.value"),
        wire("questions.value", "per_question.items"),
        wire("per_question.item", "answer.question"),
        wire("per_question.index", "answer.index"),
        wire("answer.text", "answers.item"),
        wire("answers.results", "all_answers.value"),
    ]
    return doc("Every structural node", nodes, edges,
               description="Input, Text, Branch, Merge, Loop, Fan-out, Collect, Approval, Subflow, Output.",
               frames=[{"id": "frame_1", "title": "Research", "color": "#3a4a6b", "x": -40.0, "y": -120.0, "w": 1600.0, "h": 300.0},
                       {"id": "frame_2", "title": "Per question", "color": "#224422", "x": 200.0, "y": 200.0, "w": 700.0, "h": 200.0}],
               notes=[{"id": "note_1", "text": "Loops stop after 3 rounds.\nSee the condition.", "color": "#6b5e2e",
                       "x": 1200.0, "y": -200.0, "w": 220.0, "h": 120.0}],
               pricing={"models": {"my-local-model": {"input_per_mtok": 0.0, "output_per_mtok": 0.0}}},
               settings={"concurrency": 8, "budget_usd": 0.5, "mock": True},
               tests=[{"name": "smoke", "inputs": {"topic": "tea"}, "expect": {"article": {"contains": "tea"}}}])


def sub() -> dict[str, Any]:
    return doc("Polish", [
        node("text", "input", 0, 0, name="text", type="text"),
        node("polish", "template", 240, 0, template="Polished: {{ text }}"),
        node("result", "output", 480, 0, name="result"),
    ], [wire("text.value", "polish.text"), wire("polish.text", "result.value")])


def placeholders() -> dict[str, Any]:
    """Node types that are not installed: they load as placeholders and keep what the
    file says they need (requires names the packages)."""
    return doc("Uses plugins", [
        node("text", "input", 0, 0, name="text", type="text"),
        node("mood", "acme.sentiment", 240, 0, model="acme-large", threshold=0.7, labels=["good", "bad"]),
        node("translate", "globex.translate", 480, 0, target="fr"),
        node("result", "output", 720, 0, name="result"),
    ], [wire("text.value", "mood.text"), wire("mood.label", "translate.text"), wire("translate.out", "result.value")],
        requires={"node_types": {"acme.sentiment": "acme-nodes", "globex.translate": "globex-nlp"},
                  "packages": {"acme-nodes": "2.1.0", "globex-nlp": "0.9"}})


def nested() -> dict[str, Any]:
    """Fan-out in a loop in a fan-out, with a branch inside."""
    return doc("Nested scopes", [
        node("batches", "input", 0, 0, name="batches", type="list"),
        node("per_batch", "fanout", 200, 0),
        node("rounds", "loop", 400, 0, max_iterations=2),
        node("per_item", "fanout", 600, 0),
        node("check", "branch", 800, 0, cases=[{"name": "keep", "when": "value"}]),
        node("keep", "template", 1000, 0, template="{{ text }}!"),
        node("kept", "collect", 1200, 0),
        node("batch_done", "collect", 1400, 0),
        node("result", "output", 1600, 0, name="result"),
    ], [
        wire("batches.value", "per_batch.items"),
        wire("per_batch.item", "rounds.initial"),
        wire("rounds.current", "per_item.items"),
        wire("per_item.item", "check.value"),
        wire("check.keep", "keep.text"),
        wire("keep.text", "kept.item"),
        wire("kept.results", "rounds.feedback"),
        wire("rounds.done", "batch_done.item"),
        wire("batch_done.results", "result.value"),
    ])


def text_edge_cases() -> dict[str, Any]:
    """Non-ASCII, escapes, big and small numbers, nested JSON parameters."""
    return doc("Ünïcødé — 流程 🚀", [
        node("q", "input", -12.5, 1e-3, title="Frage \"quoted\" \\ back\tslash", name="q", type="json",
             default={"nested": [1, 2.5, -0.0, 1e300, 12345678901234567890, True, None, "\u2028\u0007"]}),
        node("show", "template", 3.3333, -7e8, template="{{ q }}\n\n— ✓ {# comment #}"),
        node("out", "output", 500, 0, title="", name="out"),
    ], [wire("q.value", "show.q"), wire("show.text", "out.value")], description="Line one\nLine two\u00a0end")


def dangling() -> dict[str, Any]:
    """Wires to nodes and ports that are not there: the file still loads (the validator
    reports them) and saves back unchanged."""
    return doc("Dangling wires", [
        node("a", "input", 0, 0, name="a"),
        node("b", "output", 200, 0, name="b"),
    ], [wire("a.value", "b.value"), wire("ghost.out", "b.value"), wire("a.nope", "gone.value")])


FIXTURES = {
    "structural": structural,
    "sub": sub,
    "placeholders": placeholders,
    "nested": nested,
    "text_edge_cases": text_edge_cases,
    "dangling": dangling,
}


def main() -> None:
    FLOWS.mkdir(exist_ok=True)
    for name, build in FIXTURES.items():
        model = flowfile.loads(flowfile.dumps(build()), base_dir=FLOWS)
        flowfile.save_flow(model, FLOWS / f"{name}.flow.json")
    # a lone surrogate (valid JSON escape, not valid Unicode): saved as ASCII with escapes
    model = flowfile.loads('{"format": "orchestra-flow", "version": 1, "name": "lone \\ud800 surrogate"}')
    flowfile.save_flow(model, FLOWS / "surrogate.flow.json")
    print(f"wrote {len(FIXTURES) + 1} flows to {FLOWS}")


if __name__ == "__main__":
    main()
