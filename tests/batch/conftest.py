"""Batch test helpers: hand-written flow files (optional params left out, as a stranger
writes them), datasets in each format, and `orchestra batch` run in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def flow_doc(name: str, nodes: list[tuple[str, str, dict]], edges: list[tuple[str, str]], **extra: Any) -> dict:
    return {"format": "orchestra-flow", "version": 1, "name": name,
            "nodes": [{"id": i, "type": t, "params": p} for i, t, p in nodes],
            "edges": [{"from": a, "to": b} for a, b in edges], **extra}


def write_flow(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def router_flow(path: Path, model: str = "gpt-4o-mini", mock: list | None = None) -> Path:
    """ticket -> prompt -> classify (LLM) -> label -> route: the five-node flow of the benchmark."""
    llm = {"model": model, "prompt": "{{ text }}"}
    if mock is not None:
        llm["mock_responses"] = mock
    return write_flow(path, flow_doc("router", [
        ("ticket", "input", {"name": "ticket", "type": "text"}),
        ("prompt", "template", {"template": "Classify: {{ ticket }}"}),
        ("classify", "llm", llm),
        ("label", "template", {"template": "route={{ answer }}"}),
        ("route", "output", {"name": "route"}),
    ], [("ticket.value", "prompt.ticket"), ("prompt.text", "classify.text"),
        ("classify.text", "label.answer"), ("label.text", "route.value")]))


def echo_flow(path: Path) -> Path:
    """message -> upper-ish template -> reply, plus a number output (no LLM, no cost)."""
    return write_flow(path, flow_doc("echo", [
        ("message", "input", {"name": "message", "type": "text"}),
        ("tone", "input", {"name": "tone", "type": "text", "default": "plain"}),
        ("say", "template", {"template": "{{ tone }}: {{ message }}"}),
        ("reply", "output", {"name": "reply"}),
    ], [("message.value", "say.message"), ("tone.value", "say.tone"), ("say.text", "reply.value")]))


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path


def read_results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Traces and settings in the test's own folders."""
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ORCHESTRA_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    return tmp_path


@pytest.fixture
def batch_cli(isolated, capsys):
    """Run `orchestra batch ...` in this process; returns (exit code, stdout, stderr)."""
    from studio.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["batch", *map(str, args)])
        out, err = capsys.readouterr()
        return code, out, err

    return run
