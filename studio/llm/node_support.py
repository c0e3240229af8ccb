"""Declarations and helpers the model-calling node types share (LLM, Agent).

Why: both nodes expose the same model settings, read the same run settings and pick
mock responses the same way; one definition keeps their inspector forms, file format
and behaviour identical.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from studio.core.catalogue.nodetype import Param, Port
from studio.core.catalogue.templates import render, safe_variables
from studio.core.catalogue.types import PortType

from .mock import NO_MOCK, pick


def model_params(default_model: str = "gpt-4o-mini", temperature: float = 0.7) -> tuple[Param, ...]:
    return (
        Param("model", "model", default_model, "Any litellm model: gpt-4o-mini, anthropic/claude-haiku-4-5, "
              "gemini/gemini-1.5-flash, ollama/llama3.2, or openai/<name> with an API base.", required=True),
        Param("temperature", "number", temperature, "Randomness: 0 is most deterministic.", minimum=0, maximum=2),
        Param("max_tokens", "integer", 0, "Longest reply in tokens (0: the model's default).", minimum=0, maximum=1_000_000),
        Param("fallback_models", "list", [], "Models to try in order when the model fails in an attempt.", advanced=True),
        Param("stream", "boolean", True, "Stream the reply token by token to the run panel.", advanced=True),
        Param("api_base", "string", "", "Server URL for OpenAI-compatible or self-hosted models "
              "(a run's --api-base overrides it).", advanced=True),
    )


def mock_params(per_default: str) -> tuple[Param, ...]:
    return (
        Param("mock_responses", "list", [], "What the model answers in mock mode: one entry per call or per loop "
              "iteration (the last repeats). Text, JSON, or for agents {\"tool_calls\": [...]}.", advanced=True),
        Param("mock_per", "enum", per_default, "Pick the mock response by loop iteration, by call, or by "
              "conversation turn (how many user messages the conversation holds, for chat flows).",
              choices=("iteration", "call", "turn"), advanced=True),
    )


_HISTORY_PORT = Port("messages", PortType.MESSAGES, "The conversation so far (e.g. a Memory's history), sent "
                     "before the prompt.", default=None, required=False)


def history_port() -> Port:
    """The conversation so far (a Memory's history), sent between the system prompt and the prompt.
    One shared instance: ports are asked for on every repaint and validation."""
    return _HISTORY_PORT


def history_messages(value: Any) -> list[dict[str, Any]]:
    """The ``messages`` input checked: a list of chat messages, each with a role; None means none."""
    from studio.core.errors import NodeFailure

    if value is None:
        return []
    if not isinstance(value, list):
        raise NodeFailure(f"the messages input must be a list of chat messages, not {type(value).__name__}")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, Mapping) or not isinstance(m.get("role"), str):
            raise NodeFailure(f"messages[{i}] is not a chat message (an object with a role and content)")
        out.append(dict(m))
    return out


def prompt_ports(source: Any, reserved: Sequence[str] = ()) -> tuple[Port, ...]:
    """One input port per template variable (the prompt's ``{{ name }}``)."""
    if not isinstance(source, str):
        return ()
    return tuple(Port(v, PortType.ANY, f"Value of {{{{ {v} }}}} in the prompt.")
                 for v in safe_variables(source) if v not in reserved)


def render_prompt(params: Mapping[str, Any], inputs: Mapping[str, Any], name: str = "prompt") -> str:
    return render(params[name], inputs)


def mock_response(ctx: Any, call_index: int, turn: int = 0) -> Any:
    """The configured mock for this call: by loop iteration, by conversation turn (0-based:
    the user messages before this one) or by call number (0-based)."""
    responses = ctx.params["mock_responses"]
    per = ctx.params["mock_per"]
    if per in ("iteration", "turn"):
        chosen = pick(responses, turn if per == "turn" else (ctx.iteration or 1) - 1)
        if isinstance(chosen, list):  # a list per iteration: one entry per call within it
            return pick(chosen, call_index)
        return chosen
    return pick(responses, call_index)


def check_json_mocks(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A JSON-mode node whose mock replies are not JSON would fail every mock run."""
    import json

    def entries(values):
        # by iteration, a list entry holds one reply per call within that iteration;
        # by call, each entry is one reply (a list is then a JSON array)
        for v in values:
            if isinstance(v, list) and params["mock_per"] in ("iteration", "turn"):
                yield from v
            else:
                yield v

    for mock in entries(params["mock_responses"]):
        if isinstance(mock, str):
            try:
                json.loads(mock)
            except ValueError:
                return [("mock_responses", f"{mock[:40]!r} is not JSON, but the reply format is JSON")]
    return []


def check_model_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    if not all(isinstance(m, str) and m.strip() for m in params["fallback_models"]):
        problems.append(("fallback_models", "must be a list of model names"))
    base = params["api_base"]
    if base and not base.startswith(("http://", "https://")):
        problems.append(("api_base", "must be an http:// or https:// URL"))
    return problems


def turn_of(history: list[dict[str, Any]]) -> int:
    """Which turn of a conversation this call answers (0-based): the user messages before it."""
    return sum(1 for m in history if m.get("role") == "user")


__all__ = ["NO_MOCK", "check_json_mocks", "check_model_params", "history_messages", "history_port", "mock_params",
           "mock_response", "model_params", "prompt_ports", "render_prompt", "turn_of"]
