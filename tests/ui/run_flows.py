"""Example flows for the run tests, built through the window's document (one undo step each)."""

from __future__ import annotations

from studio.core.document import commands as C


def _build(window, name: str, steps: list) -> None:
    push = window.document.push
    assert push(C.SetFlowInfo(name=name)) is None
    for s in steps:
        assert push(s) is None, s
    window.editor.auto_layout()
    window.view.fit()


def chain(window) -> None:
    """topic -> summarize (LLM) -> headline (LLM) -> headline output."""
    _build(window, "Chain", [
        C.AddNode("input", 0, 0, {"name": "topic", "type": "text", "default": "the sea"}, node_id="topic", title="Topic"),
        C.AddNode("llm", 0, 0, {"model": "openai/summarizer", "prompt": "Summarize {{ topic }}"}, node_id="summarize",
                  title="Summarize"),
        C.AddNode("llm", 0, 0, {"model": "openai/headliner", "prompt": "Headline for {{ text }}"}, node_id="headline",
                  title="Headline"),
        C.AddNode("output", 0, 0, {"name": "headline"}, node_id="out", title="Result"),
        C.Connect("topic", "value", "summarize", "topic"),
        C.Connect("summarize", "text", "headline", "text"),
        C.Connect("headline", "text", "out", "value"),
    ])


def fanout(window, items=("alpha", "beta", "gamma"), concurrency: int = 8, policy: str = "keep") -> None:
    """topics -> each -> research (LLM per item) -> gather -> digest (LLM) -> output."""
    _build(window, "Fan-out research", [
        C.AddNode("input", 0, 0, {"name": "topics", "type": "list", "default": list(items)}, node_id="topics", title="Topics"),
        C.AddNode("fanout", 0, 0, {"concurrency": concurrency, "on_item_error": policy}, node_id="each", title="Each topic"),
        C.AddNode("llm", 0, 0, {"model": "openai/worker", "prompt": "Research {{ item }}"}, node_id="research",
                  title="Research"),
        C.AddNode("collect", 0, 0, node_id="gather", title="Gather"),
        C.AddNode("llm", 0, 0, {"model": "openai/writer", "prompt": "Digest of {{ facts }}"}, node_id="digest",
                  title="Digest"),
        C.AddNode("output", 0, 0, {"name": "digest"}, node_id="out", title="Digest out"),
        C.Connect("topics", "value", "each", "items"),
        C.Connect("each", "item", "research", "item"),
        C.Connect("research", "text", "gather", "item"),
        C.Connect("gather", "results", "digest", "facts"),
        C.Connect("digest", "text", "out", "value"),
    ])


def approval(window) -> None:
    """draft -> approval -> ok / no outputs."""
    _build(window, "Approval", [
        C.AddNode("input", 0, 0, {"name": "draft", "type": "text", "default": "Ship it"}, node_id="draft", title="Draft"),
        C.AddNode("approval", 0, 0, {"message": "Send “{{ value }}”?"}, node_id="gate", title="Gate"),
        C.AddNode("output", 0, 0, {"name": "ok"}, node_id="ok", title="Approved"),
        C.AddNode("output", 0, 0, {"name": "no"}, node_id="no", title="Rejected"),
        C.Connect("draft", "value", "gate", "value"),
        C.Connect("gate", "approved", "ok", "value"),
        C.Connect("gate", "rejected", "no", "value"),
    ])


def loop(window) -> None:
    """seed -> polish (loop x3) around improve (template) -> output."""
    _build(window, "Loop", [
        C.AddNode("input", 0, 0, {"name": "seed", "type": "text", "default": "draft"}, node_id="seed", title="Seed"),
        C.AddNode("loop", 0, 0, {"max_iterations": 3}, node_id="polish", title="Polish"),
        C.AddNode("template", 0, 0, {"template": "{{ text }}+"}, node_id="improve", title="Improve"),
        C.AddNode("output", 0, 0, {"name": "final"}, node_id="final", title="Final"),
        C.Connect("seed", "value", "polish", "initial"),
        C.Connect("polish", "current", "improve", "text"),
        C.Connect("improve", "text", "polish", "feedback"),
        C.Connect("polish", "done", "final", "value"),
    ])
