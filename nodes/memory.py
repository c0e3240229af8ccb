"""Memory: reads a conversation's history before the model call.

A memory flow is three nodes: Memory (this) -> LLM or Agent (its ``messages`` input) ->
Remember (``memory_save``, which appends the user's message and the reply as one turn).
History lives in the user's data folder, per flow, per memory name and per session (see
``studio.core.userdata.conversations``), never in the flow file.

Limits: the last ``max_turns`` turns and/or a ``max_tokens`` budget counted with
litellm's token counter for ``token_model``; whole turns are dropped, oldest first. With
``summarise`` on, the turns that fell out of the window are folded into a running
summary by ``summary_model`` (a paid call: budget checked, cost counted; in mock mode the
summary is ``mock_summary`` or a plain digest of the older turns) and the history starts
with it as a system message. The summary is stored, so each older turn is summarised once.

The session: a wired ``session`` input, else the ``session`` parameter, else the run's
chat session (``studio.core.document.interface.SESSION_SETTING``, set by the Chat panel,
``orchestra chat`` and ``orchestra serve``), else ``"default"``.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Mapping

from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.policy import POLICY_PARAMS
from studio.core.catalogue.types import PortType
from studio.core.document.interface import DEFAULT_SESSION, FLOW_SETTING, SESSION_SETTING, flow_key
from studio.core.errors import NodeFailure

MEMORY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}\Z")
SUMMARY_PREFIX = "Summary of the earlier conversation: "
DEFAULT_SUMMARY_PROMPT = ("Summarise this conversation between a user and an assistant in a few sentences. Keep "
                          "names, numbers, dates, order or ticket ids and decisions the assistant will need later.")


def target_params() -> tuple[Param, ...]:
    """Which history: shared by Memory and Remember, so both name the same conversation."""
    return (
        Param("memory", "string", "chat", "The memory's name: Memory and Remember nodes with the same name share "
              "one history (a flow may keep several).", required=True),
        Param("session", "string", "", "A fixed session id. Empty: the chat's session (Chat panel, orchestra chat "
              "--session, orchestra serve), or \"default\" in a plain run.", advanced=True),
        Param("wait_s", "number", 10.0, "How long to wait for the history database while another program holds "
              "it locked.", minimum=0, maximum=600, advanced=True),
    )


def check_target(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    name = params["memory"]
    if not isinstance(name, str) or not MEMORY_NAME_RE.match(name):
        return [("memory", "must be a name of letters, digits, _ . - (at most 64 characters)")]
    return []


def target_of(ctx) -> tuple[str, str, str]:
    """(flow key, memory name, session id) for this run."""
    settings = ctx.settings or {}
    flow = settings.get(FLOW_SETTING) or flow_key(ctx.flow_name)
    session = ctx.inputs.get("session") or ctx.params["session"] or settings.get(SESSION_SETTING) or DEFAULT_SESSION
    if not isinstance(session, str):
        raise NodeFailure(f"the session id must be text, not {type(session).__name__}")
    return str(flow), ctx.params["memory"], session


def store_for(ctx, flow: str):
    from studio.core.userdata.conversations import open_store

    return open_store(flow, float(ctx.params["wait_s"]))


async def in_thread(fn, *args):
    """Database work without freezing the event loop: tried at once (a WAL read never
    waits, an append rarely; a thread hand-off costs more than the query on a busy
    machine), and only when another connection holds the lock, waited for in a thread."""
    from studio.core.userdata.conversations import ConversationStoreError, StoreBusy

    store = fn.__self__
    try:
        try:
            with store.no_wait():
                return fn(*args)
        except StoreBusy:
            return await asyncio.to_thread(fn, *args)
    except ConversationStoreError as exc:
        raise NodeFailure(str(exc)) from None


SESSION_PORT = Port("session", PortType.TEXT, "A session id (overrides the parameter and the chat's session).",
                    default=None, required=False)


class MemoryNode(NodeType):
    type_id = "memory"
    title = "Memory"
    category = "Memory"
    description = "A conversation's history so far (last turns, a token budget, an optional summary), for an LLM's messages."
    conversation_memory = True  # studio.core.document.interface finds memory flows by this
    paid = True  # only when summarising
    has_error_port = True
    inputs = (SESSION_PORT,)
    outputs = (
        Port("history", PortType.MESSAGES, "The earlier turns as chat messages (oldest first), for an LLM's messages."),
        Port("turns", PortType.NUMBER, "How many turns the session holds in all.", required=False),
    )
    params = (
        *target_params(),
        Param("max_turns", "integer", 20, "Keep the last this many turns (0: every turn).", minimum=0, maximum=100_000),
        Param("max_tokens", "integer", 0, "Keep at most this many tokens of history, counted with litellm's counter "
              "for the token model (0: no token limit).", minimum=0, maximum=10_000_000),
        Param("token_model", "model", "gpt-4o-mini", "The model whose tokenizer counts the token budget.",
              advanced=True),
        Param("summarise", "boolean", False, "Summarise the turns that fall out of the window with a model "
              "(a paid call) and start the history with that summary."),
        Param("summary_model", "model", "gpt-4o-mini", "The model that writes the summary."),
        Param("summary_prompt", "text", DEFAULT_SUMMARY_PROMPT, "Instructions for the summary.", advanced=True),
        Param("mock_summary", "text", "", "The summary in mock mode (empty: a plain digest of the older turns).",
              advanced=True),
        Param("api_base", "string", "", "Server URL for the summary model (a run's --api-base overrides it).",
              advanced=True),
        *POLICY_PARAMS,
    )

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = super().check_params(params) + check_target(params)
        base = params["api_base"] or ""
        if base and not str(base).startswith(("http://", "https://")):
            problems.append(("api_base", "must be an http:// or https:// URL"))
        return problems

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        parts = [params["memory"]]
        if params["max_turns"]:
            parts.append(f"last {params['max_turns']} turns")
        if params["max_tokens"]:
            parts.append(f"≤{params['max_tokens']} tokens")
        if params["summarise"]:
            parts.append("summary")
        return " · ".join(parts)

    async def run(self, ctx) -> dict[str, Any]:
        flow, memory, session = target_of(ctx)
        store = store_for(ctx, flow)
        max_turns = ctx.params["max_turns"]
        total, stored = await in_thread(store.recent, memory, session, max_turns or None)
        turns = _by_turn(stored)
        max_tokens = ctx.params["max_tokens"]
        if max_tokens and turns:
            turns = _within_tokens(turns, max_tokens, ctx.params["token_model"])
        history: list[dict[str, Any]] = []
        first_kept = turns[0][0] if turns else total + 1
        if ctx.params["summarise"] and first_kept > 1:
            upto, text = await self._summary(ctx, store, memory, session, first_kept - 1)
            if text:
                history.append({"role": "system", "content": SUMMARY_PREFIX + text})
                turns = [t for t in turns if t[0] > upto]
        for _, msgs in turns:
            history.extend(m.as_chat() for m in msgs)
        return {"history": history, "turns": total}

    async def _summary(self, ctx, store, memory: str, session: str, upto: int) -> tuple[int, str]:
        """The running summary of turns 1..upto, extended with any turns it does not cover yet."""
        covered, text = await in_thread(store.summary, memory, session)
        if covered >= upto:
            return covered, text
        older = await in_thread(store.turns_between, memory, session, covered, upto)
        if not older:
            return covered, text
        new_text = await _summarise(ctx, text, older)
        await in_thread(store.save_summary, memory, session, upto, new_text)
        return upto, new_text


def _by_turn(messages) -> list[tuple[int, list]]:
    out: list[tuple[int, list]] = []
    for m in messages:
        if out and out[-1][0] == m.turn:
            out[-1][1].append(m)
        else:
            out.append((m.turn, [m]))
    return out


def _within_tokens(turns: list[tuple[int, list]], budget: int, model: str) -> list[tuple[int, list]]:
    """The newest whole turns whose messages fit ``budget`` tokens (litellm's counter)."""
    from studio.llm.client import count_tokens

    kept: list[tuple[int, list]] = []
    used = 0
    for turn in reversed(turns):
        n = count_tokens(model, messages=[m.as_chat() for m in turn[1]])
        if used + n > budget:
            break
        used += n
        kept.append(turn)
    kept.reverse()
    return kept


def _transcript(messages) -> str:
    lines = []
    for m in messages:
        who = {"user": "User", "assistant": "Assistant"}.get(m.role, m.role.capitalize())
        lines.append(f"{who}: {m.content}")
    return "\n".join(lines)


def digest(previous: str, messages, width: int = 160) -> str:
    """A plain, model-free summary for mock mode: the earlier summary plus each message's start."""
    parts = [previous] if previous else []
    for m in messages:
        text = " ".join(m.content.split())
        if len(text) > width:
            text = text[: width - 1] + "…"
        parts.append(f"{m.role} said: {text}")
    return " | ".join(parts)


async def _summarise(ctx, previous: str, messages) -> str:
    from studio.llm.calls import call_model

    params = ctx.params
    model = params["summary_model"]
    body = (f"The summary so far: {previous}\n\n" if previous else "") + "The conversation to add:\n" + _transcript(messages)
    prompt = [{"role": "system", "content": params["summary_prompt"]},
              {"role": "user", "content": body}]
    mock = params["mock_summary"] or digest(previous, messages)
    completion, _ = await call_model(ctx, [model], prompt, stream=False, api_base=params["api_base"] or None,
                                     timeout=ctx.timeout_s, mock_response=mock)
    text = completion.text.strip()
    if not text:
        raise NodeFailure(f"{model} returned an empty summary")
    return text


NODE_TYPE = MemoryNode
