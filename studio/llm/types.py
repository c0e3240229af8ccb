"""What one model call returns, independent of litellm's response classes.

Why: nodes, the agent loop and the UI read text, tool calls, tokens and cost; keeping
that in plain dataclasses means nothing outside ``studio.llm`` touches litellm objects,
and a mock answer looks exactly like a real one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolCall:
    """A function call the model asked for; ``arguments`` is the raw JSON text it sent."""

    id: str
    name: str
    arguments: str = "{}"

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; ValueError with a readable reason when they are not."""
        text = self.arguments.strip() or "{}"
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"the arguments for {self.name} are not valid JSON ({exc}): {text[:200]}") from None
        if not isinstance(value, dict):
            raise ValueError(f"the arguments for {self.name} must be a JSON object, not {text[:200]}")
        return value

    def as_message_part(self) -> dict[str, Any]:
        """This call in the OpenAI message format, for the assistant turn of a transcript."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass
class Completion:
    """One finished model call."""

    text: str
    model: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None  # None: no price known for the model
    finish_reason: str | None = None
    mock: bool = False
    tokens_estimated: bool = False  # counted by us (mock mode, or a stream without usage)
    latency_s: float = 0.0

    def assistant_message(self) -> dict[str, Any]:
        """The assistant turn to append to the conversation."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            msg["tool_calls"] = [c.as_message_part() for c in self.tool_calls]
        elif msg["content"] is None:
            msg["content"] = ""
        return msg
