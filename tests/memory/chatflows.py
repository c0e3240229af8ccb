"""Small hand-written chat flows for the memory tests (optional params left out on purpose)."""

from __future__ import annotations

from typing import Any

from studio.core.document.flowfile import model_from_document


def memory_flow_doc(memory: dict[str, Any] | None = None, llm: dict[str, Any] | None = None,
                    name: str = "Chat test") -> dict[str, Any]:
    """message -> Memory -> LLM(messages) -> Remember -> reply, as a person would write it."""
    return {
        "format": "orchestra-flow",
        "version": 1,
        "name": name,
        "nodes": [
            {"id": "message", "type": "input", "params": {"name": "message"}},
            {"id": "memory", "type": "memory", "params": dict(memory or {})},
            {"id": "answer", "type": "llm", "params": {"model": "gpt-4o-mini", "prompt": "{{ message }}", **(llm or {})}},
            {"id": "remember", "type": "memory_save", "params": {"memory": (memory or {}).get("memory", "chat")}},
            {"id": "reply", "type": "output", "params": {"name": "reply"}},
        ],
        "edges": [
            {"from": "message.value", "to": "answer.message"},
            {"from": "memory.history", "to": "answer.messages"},
            {"from": "message.value", "to": "remember.message"},
            {"from": "answer.text", "to": "remember.reply"},
            {"from": "remember.reply", "to": "reply.value"},
        ],
    }


def memory_flow(**kw: Any):
    return model_from_document(memory_flow_doc(**kw))
