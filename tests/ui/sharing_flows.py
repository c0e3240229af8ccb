"""Flow files for the sharing tests (issue 7), written into a test's tmp folder.

Built with ``support.flows.Flow`` from built-in node types only, then saved, so the
studio opens them exactly as a person would open a file someone sent them.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.core.document.flowfile import save_flow
from support.flows import Flow

SHOUT_TOOL = '''"""Shout: the text in capitals (and a mark in ran.txt that this code ran)."""
import pathlib

PARAMETERS = {"type": "object", "properties": {"text": {"type": "string", "description": "What to shout"}},
              "required": ["text"]}
pathlib.Path(__file__).with_name("ran.txt").write_text("imported")


def run(text):
    pathlib.Path(__file__).with_name("ran.txt").write_text("ran")
    return text.upper()
'''


def _place(f: Flow, *rows: tuple[str, ...]) -> None:
    """Lay nodes out left to right, one tuple of node ids per row (so screenshots read well)."""
    for r, row in enumerate(rows):
        for c, nid in enumerate(row):
            f.model.nodes[nid].x, f.model.nodes[nid].y = 300.0 * c, 170.0 * r


def with_subflow(folder: Path) -> Path:
    """main.flow.json (text -> subflow lib/shout -> result) with a description and layout."""
    folder.mkdir(parents=True, exist_ok=True)
    sub = Flow("shout")
    sub.node("inp", "input", name="text", type="text")
    sub.node("up", "template", template="{{ t | upper }}!")
    sub.node("out", "output", name="loud")
    sub.wire("inp.value", "up.t")
    sub.wire("up.text", "out.value")
    (folder / "lib").mkdir(exist_ok=True)
    save_flow(sub.model, folder / "lib" / "shout.flow.json")
    main = Flow("Shout it")
    main.model.description = "Shouts what it is given, through a subflow."
    main.model.base_dir = folder
    main.node("inp", "input", name="text", type="text", default="hello")
    main.node("call", "subflow", path="lib/shout.flow.json")
    main.node("out", "output", name="result")
    main.wire("inp.value", "call.text")
    main.wire("call.loud", "out.value")
    _place(main, ("inp", "call", "out"))
    path = folder / "main.flow.json"
    save_flow(main.model, path)
    return path


def with_key(folder: Path, key: str) -> Path:
    """A flow with an API key pasted into a template's text."""
    folder.mkdir(parents=True, exist_ok=True)
    f = Flow("Leaky")
    f.node("inp", "input", name="x", type="text", default="hi")
    f.node("t", "template", template=f"Authorization: Bearer {key} -- {{{{ x }}}}")
    f.node("out", "output", name="result")
    f.wire("inp.value", "t.x")
    f.wire("t.text", "out.value")
    _place(f, ("inp", "t", "out"))
    path = folder / "leaky.flow.json"
    save_flow(f.model, path, allow_secrets=True)  # the person's own file, saved with the key on purpose
    return path


def with_missing_type(folder: Path) -> Path:
    """topic -> translate (acme.translate, from acme-nodes 1.4.2, not installed) -> result."""
    folder.mkdir(parents=True, exist_ok=True)
    f = Flow("Translate")
    f.node("topic", "input", name="topic", type="text", default="the sea")
    f.node("out", "output", name="result")
    f.model.nodes["out"].x = 600.0
    path = folder / "translate.flow.json"
    save_flow(f.model, path)
    doc = json.loads(path.read_text())
    doc["nodes"].append({"id": "translate", "type": "acme.translate", "title": "Translate",
                         "params": {"target": "fr"}, "layout": {"x": 300.0, "y": 0.0}})
    doc["edges"] += [{"from": "topic.value", "to": "translate.text"}, {"from": "translate.text", "to": "out.value"}]
    doc["requires"]["node_types"]["acme.translate"] = "acme-nodes"
    doc["requires"]["packages"]["acme-nodes"] = "1.4.2"
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return path


def with_tool_code(folder: Path) -> Path:
    """topic -> shout (the flow's own tools/shout.py) -> summarize (LLM) -> result."""
    (folder / "tools").mkdir(parents=True, exist_ok=True)
    (folder / "tools" / "shout.py").write_text(SHOUT_TOOL)
    f = Flow("Shout and summarize")
    f.model.base_dir = folder
    f.node("topic", "input", name="topic", type="text", default="the sea")
    f.node("shout", "tool", tool="shout")
    f.node("calc", "tool", tool="calculator", arguments={"expression": "1 + 1"})  # built-in: not the flow's code
    f.node("summarize", "llm", model="openai/summarizer", prompt="Summarize {{ text }}")
    f.node("out", "output", name="summary")
    f.node("sum_out", "output", name="two")
    f.wire("topic.value", "shout.text")
    f.wire("shout.result", "summarize.text")
    f.wire("summarize.text", "out.value")
    f.wire("calc.result", "sum_out.value")
    _place(f, ("topic", "shout", "summarize", "out"), ("calc", "sum_out"))
    path = folder / "shout.flow.json"
    save_flow(f.model, path)
    return path


CASES = [
    {"name": "greets by name", "inputs": {"name": "Ada"},
     "expect": [{"output": "greeting", "contains": "Ada"}, {"output": "french", "equals": "Bonjour"}]},
    {"name": "says goodbye", "inputs": {"name": "Ada"},
     "expect": [{"output": "greeting", "equals": "Goodbye Ada"}, {"output": "french", "contains": "jour"}]},
]


def with_tests(folder: Path) -> Path:
    """name -> greet (template) -> greeting, and an LLM with a mock answer -> french; two cases."""
    folder.mkdir(parents=True, exist_ok=True)
    f = Flow("Greeter")
    f.node("name", "input", name="name", type="text", default="World")
    f.node("greet", "template", template="Hello {{ name }}")
    f.node("greeting", "output", name="greeting")
    f.node("french", "llm", model="openai/translator", prompt="In French: {{ text }}", mock_responses=["Bonjour"])
    f.node("french_out", "output", name="french")
    f.wire("name.value", "greet.name")
    f.wire("greet.text", "greeting.value")
    f.wire("greet.text", "french.text")
    f.wire("french.text", "french_out.value")
    _place(f, ("name", "greet", "greeting"), ("french", "french_out"))
    f.model.nodes["french"].x, f.model.nodes["french_out"].x = 600.0, 900.0
    f.model.meta["tests"] = CASES
    path = folder / "greeter.flow.json"
    save_flow(f.model, path)
    return path
