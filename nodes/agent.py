"""Agent: a model with a chosen set of tools in a bounded tool-calling loop.

Each step is one model call; when the model asks for tools they run (each call and its
result reported as progress events) and their results go back to it. ``max_steps``
bounds the model calls: the last step offers no tool, so the model must answer. A tool
that fails does not fail the agent -- the error goes back to the model, which can try
something else; a budget stop, a cancellation or an untrusted flow folder does.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from studio.core.errors import BudgetExceeded, NodeFailure, OrchestraError
from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.policy import POLICY_PARAMS
from studio.core.catalogue.types import PortType
from studio.llm.node_support import (
    check_model_params,
    history_messages,
    history_port,
    mock_params,
    mock_response,
    model_params,
    prompt_ports,
    render_prompt,
    turn_of,
)

MAX_RESULT_CHARS = 20_000


class AgentNode(NodeType):
    type_id = "agent"
    title = "Agent"
    category = "AI"
    description = "A model that uses tools step by step until it can answer (at most max_steps model calls)."
    paid = True
    outputs = (
        Port("answer", PortType.TEXT, "The agent's final answer."),
        Port("transcript", PortType.MESSAGES, "Every message: prompt, model turns, tool calls and results."),
        Port("steps", PortType.NUMBER, "How many model calls it took."),
    )
    params = (
        *model_params(temperature=0.2),
        Param("system", "text", "You are a capable assistant. Use the tools when they help, then answer concisely.",
              "Instructions for the agent (the system prompt)."),
        Param("prompt", "prompt", "{{ task }}", "The task; each {{ name }} becomes an input."),
        Param("tools", "list", ["calculator"], "Names of the tools the agent may call."),
        Param("max_steps", "integer", 8, "The most model calls the agent may make (the last one must answer).",
              minimum=1, maximum=100, required=True),
        *mock_params("call"),
        *POLICY_PARAMS,
    )

    @classmethod
    def input_ports(cls, params: Mapping[str, Any], base_dir=None):
        return (*prompt_ports(params["prompt"], reserved=("messages",)), history_port())

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = super().check_params(params) + check_model_params(params)
        if "max_steps" not in params:
            problems.append(("max_steps", "is required: an agent's loop must be bounded"))
        tools = params["tools"]
        if isinstance(tools, list):
            # names only: a flow's own tools live in its folder and are looked up at run time
            if not all(isinstance(t, str) and re.match(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$", t) for t in tools):
                problems.append(("tools", "must be a list of tool names"))
            elif len(set(tools)) != len(tools):
                problems.append(("tools", "names a tool twice"))
        return problems

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        tools = params["tools"] if isinstance(params["tools"], list) else []
        return f"{params['model'] or '?'} · {', '.join(map(str, tools)) or 'no tools'}"

    async def run(self, ctx) -> dict[str, Any]:
        from studio.llm.calls import call_model, model_list
        from studio.tools import FolderNotTrusted, ToolContext, call_tool, get_tool

        params = ctx.params
        max_steps = int(params["max_steps"] or 0)
        if max_steps < 1:
            raise NodeFailure("max_steps must be at least 1")
        tools = {}
        for name in params["tools"] or []:
            tools[name] = get_tool(name, ctx.flow_dir)  # unknown or untrusted: fail before any paid call
        schemas = [t.function_schema() for t in tools.values()] or None
        models = model_list(params["model"] or "", params["fallback_models"])
        transcript: list[dict[str, Any]] = []
        system = (params["system"] or "").strip()
        if system:
            transcript.append({"role": "system", "content": system})
        history = history_messages(ctx.inputs.get("messages"))
        transcript.extend(history)
        transcript.append({"role": "user", "content": render_prompt(params, ctx.inputs)})
        tool_ctx = ToolContext(flow_dir=ctx.flow_dir, progress=ctx.progress)
        temperature = params["temperature"]

        for step in range(1, max_steps + 1):
            last = step == max_steps
            completion, _ = await call_model(
                ctx, models, transcript,
                temperature=None if temperature is None else float(temperature),
                max_tokens=int(params["max_tokens"] or 0) or None,
                tools=schemas,
                tool_choice=("none" if last else "auto") if schemas else None,
                stream=bool(params["stream"]),
                api_base=params["api_base"] or None,
                timeout=ctx.timeout_s,
                mock_response=mock_response(ctx, step - 1, turn_of(history)),
            )
            transcript.append(completion.assistant_message())
            if not completion.tool_calls:
                return {"answer": completion.text, "transcript": transcript, "steps": step}
            if last:
                break
            for call in completion.tool_calls:
                ctx.progress(kind="tool_call", step=step, tool=call.name, call_id=call.id, arguments=call.arguments)
                ok, content = await _run_call(call, tools, tool_ctx, call_tool, FolderNotTrusted)
                ctx.progress(kind="tool_result", step=step, tool=call.name, call_id=call.id, ok=ok,
                             result=content[:2000])
                transcript.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": content})
        raise NodeFailure(f"the agent had not answered after max_steps={max_steps} model calls "
                          f"(it still asked for tools); raise max_steps or simplify the task")


async def _run_call(call, tools, tool_ctx, call_tool, FolderNotTrusted) -> tuple[bool, str]:
    """(ok, text for the model): a failing tool becomes an error message, not a failed run."""
    tool = tools.get(call.name)
    if tool is None:
        return False, f"error: there is no tool called {call.name!r}; available: {', '.join(tools) or 'none'}"
    try:
        args = call.parsed_arguments()
        result = await call_tool(tool, args, tool_ctx)
    except (BudgetExceeded, FolderNotTrusted):
        raise
    except ValueError as exc:
        return False, f"error: {exc}"
    except OrchestraError as exc:
        return False, f"error: {exc}"
    except Exception as exc:  # a tool's own bug: the model hears about it, the run goes on
        return False, f"error: {call.name} failed: {type(exc).__name__}: {exc}"
    text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + f"... [{len(text) - MAX_RESULT_CHARS} more characters cut]"
    return True, text


NODE_TYPE = AgentNode
