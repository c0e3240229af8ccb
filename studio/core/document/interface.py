"""A flow's chat interface: which text input takes the user's message and which text
output is the reply.

Why here: the studio's Chat panel, ``orchestra chat`` and ``orchestra serve``'s
OpenAI-compatible endpoint all talk to a flow as a conversation; they must agree on
which input and which output that means, so the choice is made once, from the flow.

The rule:

* The message goes into an Input node of type ``text``; the reply comes from an Output
  node whose ``value`` is wired from a ``text`` port (or an ``any`` port when named
  explicitly, see below).
* With exactly one of each, that pair is the chat interface.
* With several, the flow says which in a flow-level section of its file::

      "chat": {"input": "message", "output": "reply"}

  naming the *input and output names* (the Input/Output nodes' ``name`` parameter, as
  in ``--input name=value``), not node ids. Either key may be left out when that side
  has only one candidate. The section is kept in ``FlowModel.meta["chat"]`` like any
  other flow-level section.
* Every other Input is an "extra" input: a chat front end passes it along unchanged on
  every turn (``--input name=value``); those without a default must be given.

Conversation memory: a Memory node keeps its history per flow, per memory name and per
session. It reads the session id and the flow's key from the run's settings under
``SESSION_SETTING`` and ``FLOW_SETTING``; ``ChatInterface.run_settings(session)`` makes
them (``RunOptions(settings=iface.run_settings("my-session"))``). With none (a plain
``orchestra run``) the session is ``"default"`` and the flow key is the flow folder's
name. A flow without Memory nodes still chats, it just forgets between turns
(``ChatInterface.has_memory`` says which).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from studio.core.catalogue.types import PortType
from studio.core.document.model import FlowModel

SESSION_SETTING = "chat_session"
"""The run settings key a Memory node reads its session id from."""
FLOW_SETTING = "chat_flow"
"""The run settings key a Memory node reads its flow's key from (which history file)."""

DEFAULT_SESSION = "default"
CHAT_SECTION = "chat"


def interface_name(params: Mapping[str, Any], node_id: str) -> str:
    """The name an Input or Output node gives its value in the flow's interface: its
    resolved ``name`` parameter, or its id when that is empty. The one rule, used by
    the plan, the chat and serve interfaces and the editor, so they cannot disagree."""
    return str(params["name"] or node_id)


@dataclass(frozen=True)
class ChatInterface:
    """The pair of ports a conversation goes through, plus what else the flow needs."""

    input: str  # the input name the user's message goes to
    output: str  # the output name whose value is the reply
    input_node: str
    output_node: str
    extra_inputs: tuple[str, ...] = ()  # other input names, passed unchanged every turn
    required_inputs: tuple[str, ...] = ()  # the extra inputs with no default (must be given)
    memory_nodes: tuple[str, ...] = ()  # ids of the flow's Memory nodes (reading or saving)
    reply_nodes: tuple[str, ...] = ()  # the model node(s) whose streamed tokens are the reply (see _reply_nodes)
    flow_key: str = "untitled"  # which history file: the flow's name as a slug (flow_key())

    @property
    def has_memory(self) -> bool:
        return bool(self.memory_nodes)

    def run_inputs(self, message: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The run's inputs for one turn: the extra inputs, then the message."""
        inputs = dict(extra or {})
        inputs[self.input] = message
        return inputs

    def run_settings(self, session: str | None, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run settings naming the flow and the conversation's session (merged into ``settings``)."""
        out = dict(settings or {})
        out[SESSION_SETTING] = session or DEFAULT_SESSION
        out[FLOW_SETTING] = self.flow_key
        return out


def flow_key(name: str) -> str:
    """A flow's memory key: its name as a file-safe slug ("Support assistant" -> "support-assistant")."""
    slug = re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-")
    return slug[:60] or "untitled"


def chat_interface(model: FlowModel) -> ChatInterface | None:
    """The flow's chat interface, or None when it has none (``why_no_chat`` says why)."""
    found = _resolve(model)
    return found if isinstance(found, ChatInterface) else None


def why_no_chat(model: FlowModel) -> str | None:
    """Why the flow has no chat interface (a sentence for the user), or None when it has one."""
    found = _resolve(model)
    return None if isinstance(found, ChatInterface) else found


def is_memory_type(node_type: type) -> bool:
    """True for node types that keep a conversation (they declare ``conversation_memory``)."""
    return bool(getattr(node_type, "conversation_memory", False))


def _resolve(model: FlowModel) -> ChatInterface | str:
    inputs: dict[str, str] = {}  # name -> node id
    text_inputs: list[str] = []
    outputs: dict[str, str] = {}
    text_outputs: list[str] = []
    any_outputs: list[str] = []
    memory: list[str] = []
    for nid in sorted(model.nodes):
        node = model.nodes[nid]
        nt = model.node_type(nid)
        if is_memory_type(nt):
            memory.append(nid)
        if node.type == "input":
            params = model.params(nid)
            name = interface_name(params, nid)
            inputs.setdefault(name, nid)
            if params.get("type") == "text":  # resolved: a missing type is the schema's default
                text_inputs.append(name)
        elif node.type == "output":
            name = interface_name(model.params(nid), nid)
            outputs.setdefault(name, nid)
            fed = _fed_type(model, nid)
            if fed == PortType.TEXT:
                text_outputs.append(name)
            elif fed == PortType.ANY:
                any_outputs.append(name)

    section = model.meta.get(CHAT_SECTION)
    if section is not None and not isinstance(section, Mapping):
        return 'the flow\'s "chat" section must be an object like {"input": "message", "output": "reply"}'
    section = section or {}
    chosen_in = section.get("input")
    chosen_out = section.get("output")

    if chosen_in is not None:
        if chosen_in not in inputs:
            return f'the flow\'s "chat" section names the input {chosen_in!r}, which the flow does not have'
        if chosen_in not in text_inputs:
            return f'the chat input {chosen_in!r} must be a text input'
        message = chosen_in
    elif len(text_inputs) == 1:
        message = text_inputs[0]
    elif not text_inputs:
        return "the flow has no text input for the user's message"
    else:
        return (f"the flow has several text inputs ({', '.join(text_inputs)}); name the chat one in the flow's "
                f'"chat" section, e.g. {{"input": "{text_inputs[0]}"}}')

    if chosen_out is not None:
        if chosen_out not in outputs:
            return f'the flow\'s "chat" section names the output {chosen_out!r}, which the flow does not have'
        if chosen_out not in text_outputs and chosen_out not in any_outputs:
            return f"the chat output {chosen_out!r} must be fed by a text port"
        reply = chosen_out
    elif len(text_outputs) == 1:
        reply = text_outputs[0]
    elif not text_outputs:
        return "the flow has no output wired from a text port for the reply"
    else:
        return (f"the flow has several text outputs ({', '.join(text_outputs)}); name the chat one in the flow's "
                f'"chat" section, e.g. {{"output": "{text_outputs[0]}"}}')

    extras = tuple(n for n in sorted(inputs) if n != message)
    required = tuple(n for n in extras if model.params(inputs[n])["default"] is None)
    feeders = _reply_nodes(model, outputs[reply])
    return ChatInterface(message, reply, inputs[message], outputs[reply], extras, required, tuple(memory), feeders,
                         flow_key(model.name))


def _reply_nodes(model: FlowModel, output_node: str) -> tuple[str, ...]:
    """The nearest paid (model-calling) nodes upstream of the reply output: their streamed
    tokens are the reply as it is written. Pass-through nodes in between (a Guardrail, a
    Memory save, a Template) are looked through; with no model upstream, the direct feeder."""
    found: set[str] = set()
    seen: set[str] = {output_node}
    todo = [e.src for e in model.edges_into(output_node, "value")]
    direct = tuple(sorted(set(todo)))
    while todo:
        nid = todo.pop()
        if nid in seen or nid not in model.nodes:
            continue
        seen.add(nid)
        if getattr(model.node_type(nid), "paid", False):
            found.add(nid)
            continue
        todo.extend(e.src for e in model.edges_into(nid))
    return tuple(sorted(found)) or direct


def _fed_type(model: FlowModel, output_node: str) -> PortType | None:
    """The type of the port wired into an Output node's value (None: not wired)."""
    edges = model.edges_into(output_node, "value")
    if len(edges) != 1:
        return None
    edge = edges[0]
    if edge.src not in model.nodes:
        return None
    try:
        port = model.output_ports(edge.src).get(edge.src_port)
    except Exception:  # a node whose params cannot produce ports: not a chat reply
        return None
    return port.type if port is not None else None


__all__ = ["CHAT_SECTION", "DEFAULT_SESSION", "FLOW_SETTING", "SESSION_SETTING", "ChatInterface", "chat_interface",
           "flow_key", "interface_name", "is_memory_type", "why_no_chat"]
