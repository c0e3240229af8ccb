"""LLM: one model call -- a system prompt and a prompt template whose variables are inputs.

Text or JSON replies (JSON parsed onto the ``json`` port, checked against an optional
schema; an invalid reply is retried and finally fails showing the raw text; a schema whose
root is an array makes ``json`` a list port, e.g. for a Fan-out), tokens
streamed as progress events, fallback models within an attempt, mock responses in mock
mode. Cost is reported once per billed call through the run's context.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from studio.core.catalogue.nodetype import ERROR_PORT, NodeType, Param, Port
from studio.core.catalogue.policy import POLICY_PARAMS
from studio.core.catalogue.types import PortType
from studio.llm.node_support import (
    check_json_mocks,
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


class LLMNode(NodeType):
    type_id = "llm"
    title = "LLM"
    category = "AI"
    description = "Ask a model: a system prompt and a prompt with {{ variables }}; text or JSON back."
    paid = True
    params = (
        *model_params(),
        Param("system", "text", "", "Instructions that frame every answer (the system prompt)."),
        Param("prompt", "prompt", "{{ input }}", "The message to the model; each {{ name }} becomes an input."),
        Param("response_format", "enum", "text", "Text, or JSON parsed onto the json output.", choices=("text", "json")),
        Param("json_schema", "json", None, "For JSON replies: an optional JSON Schema the reply must match.",
              nullable=True),
        *mock_params("iteration"),
        *POLICY_PARAMS,
    )

    @classmethod
    def input_ports(cls, params: Mapping[str, Any], base_dir=None):
        return (*prompt_ports(params["prompt"], reserved=("messages",)), history_port())

    @classmethod
    def output_ports(cls, params: Mapping[str, Any], base_dir=None):
        ports = [Port("text", PortType.TEXT, "The reply as text.")]
        if params["response_format"] == "json":
            schema = params["json_schema"]
            if isinstance(schema, Mapping) and schema.get("type") == "array":  # e.g. feeds a Fan-out
                ports.append(Port("json", PortType.LIST, "The reply parsed as JSON (a list, as the schema says)."))
            else:
                ports.append(Port("json", PortType.JSON, "The reply parsed as JSON."))
        ports.append(Port("messages", PortType.MESSAGES, "The conversation including the reply.", required=False))
        return (*ports, ERROR_PORT)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = super().check_params(params) + check_model_params(params)
        schema = params["json_schema"]
        if schema is not None:
            problems += _schema_problems(schema)
        if params["response_format"] == "json":
            problems += check_json_mocks(params)
        return problems

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        model = params["model"] or "?"
        return f"{model} · json" if params['response_format'] == "json" else str(model)

    async def run(self, ctx) -> dict[str, Any]:
        from studio.llm.calls import call_model, json_format, model_list, parse_json_reply

        params = ctx.params
        json_mode = params["response_format"] == "json"
        schema = params["json_schema"] if json_mode else None
        system = (params["system"] or "").strip()
        if json_mode:
            system = _with_json_instruction(system, schema)
        prompt = render_prompt(params, ctx.inputs)
        history = history_messages(ctx.inputs.get("messages"))
        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.extend(history)
        messages.append({"role": "user", "content": prompt})
        models = model_list(params["model"] or "", params["fallback_models"])

        def accept(completion):
            return parse_json_reply(completion.text, schema, completion.model) if json_mode else None

        temperature = params["temperature"]
        completion, parsed = await call_model(
            ctx, models, messages,
            temperature=None if temperature is None else float(temperature),
            max_tokens=int(params["max_tokens"] or 0) or None,
            response_format=json_format(schema) if json_mode else None,
            stream=bool(params["stream"]),
            api_base=params["api_base"] or None,
            timeout=ctx.timeout_s,
            mock_response=mock_response(ctx, ctx.attempt - 1, turn_of(history)),  # per call: a retry takes the next
            accept=accept,
        )
        out: dict[str, Any] = {"text": completion.text,
                               "messages": [*messages, {"role": "assistant", "content": completion.text}]}
        if json_mode:
            out["json"] = parsed
        return out


def _with_json_instruction(system: str, schema: Any) -> str:
    """JSON mode needs the word JSON in the messages (OpenAI) and helps every model."""
    from studio.llm.calls import WRAPPER_KEY, needs_wrapper

    line = "Reply with a single JSON value and nothing else."
    if needs_wrapper(schema):  # sent wrapped in an object (studio.llm.calls.json_format)
        line = (f'Reply with a single JSON object and nothing else: {{"{WRAPPER_KEY}": ...}}, where the '
                f"{WRAPPER_KEY} matches this JSON Schema: " + json.dumps(schema, ensure_ascii=False, sort_keys=True))
    elif isinstance(schema, Mapping) and schema:
        line += " It must match this JSON Schema: " + json.dumps(schema, ensure_ascii=False, sort_keys=True)
    return f"{system}\n\n{line}" if system else line


def _schema_problems(schema: Any) -> list[tuple[str, str]]:
    if not isinstance(schema, dict):
        return [("json_schema", "must be a JSON Schema object")]
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return [("json_schema", f"is not a valid JSON Schema: {exc.message}")]
    return []


NODE_TYPE = LLMNode
