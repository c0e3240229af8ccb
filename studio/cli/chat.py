"""`orchestra chat FLOW`: talk to a flow in the terminal, one run per turn.

The flow's chat interface (its text input and text output, see
``studio.core.document.interface``) carries the conversation; Memory nodes in the flow
keep it between turns and between sessions of this command. The reply streams token by
token to standard output, then one line gives the turn's tokens and cost and the
session's total. Progress notes and errors go to standard error.

Commands at the prompt: ``/new [NAME]`` starts a new session, ``/switch NAME`` changes
to another, ``/sessions`` lists them, ``/clear`` forgets the current session's history,
``/exit`` (or end of input) leaves and prints the total cost. Ctrl-C stops the turn in
progress without leaving.

Session housekeeping without chatting: ``--sessions`` lists them, ``--clear`` forgets
the ``--session``, ``--delete-older-than DAYS`` deletes sessions unused for that long.

Exit codes: 0 done; 2 the flow is unreadable, invalid or has no chat interface, or an
input is missing; 4 the history database cannot be used.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

EXIT_OK, EXIT_INVALID, EXIT_STORE = 0, 2, 4


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="talk to a flow in the terminal (memory, sessions, streamed replies)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("flow", help="the *.flow.json file")
    p.add_argument("--session", "-s", default="default", metavar="NAME", help="the conversation to continue or start "
                   "(default: default)")
    p.add_argument("--mock", action="store_true", help="LLM nodes answer with their mock responses (no key, no cost)")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE",
                   help="a value for another Input node, passed on every turn (repeatable)")
    p.add_argument("--api-base", metavar="URL", help="send every LLM call to this OpenAI-compatible endpoint")
    p.add_argument("--budget", type=float, metavar="USD", help="stop starting paid calls in a turn once this much is spent")
    p.add_argument("--sessions", action="store_true", help="list the flow's sessions and exit")
    p.add_argument("--clear", action="store_true", help="forget the --session's history and exit")
    p.add_argument("--delete-older-than", type=float, metavar="DAYS", help="delete sessions unused for DAYS days and exit")
    p.set_defaults(func=main)


def _err(message: str) -> None:
    print(f"orchestra chat: {message}", file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    from studio.core.document.flowfile import load_flow
    from studio.core.document.interface import chat_interface, why_no_chat
    from studio.core.errors import FlowFileError
    from studio.core.running.plan import FlowInvalid, compile_plan
    from studio.core.userdata.conversations import ConversationStoreError, open_store

    try:
        model = load_flow(args.flow)
    except FlowFileError as exc:
        _err(str(exc))
        return EXIT_INVALID
    iface = chat_interface(model)
    if iface is None:
        _err(f"{args.flow} cannot chat: {why_no_chat(model)}")
        return EXIT_INVALID
    store = open_store(iface.flow_key)
    try:
        if args.sessions or args.clear or args.delete_older_than is not None:
            return _housekeeping(args, store)
    except ConversationStoreError as exc:
        _err(str(exc))
        return EXIT_STORE
    try:
        plan = compile_plan(model)
    except FlowInvalid as exc:
        _err(f"{args.flow} is not valid:")
        for p in exc.problems:
            if p.is_error:
                print(f"  {p}", file=sys.stderr)
        return EXIT_INVALID
    extra: dict[str, Any] = {}
    for item in args.input:
        if "=" not in item:
            _err(f"--input {item!r}: expected NAME=VALUE")
            return EXIT_INVALID
        name, value = item.split("=", 1)
        extra[name.strip()] = value
    unknown = sorted(set(extra) - set(iface.extra_inputs))
    if unknown:
        _err(f"--input {', '.join(unknown)}: not one of the flow's other inputs "
             f"({', '.join(iface.extra_inputs) or 'it has none'}; {iface.input!r} is what you type)")
        return EXIT_INVALID
    missing = [n for n in iface.required_inputs if n not in extra]
    if missing:
        _err(f"the flow needs input(s) {', '.join(missing)} on every turn: pass --input NAME=VALUE")
        return EXIT_INVALID
    return asyncio.run(Chat(plan, iface, store, args, extra).loop())


def _housekeeping(args: argparse.Namespace, store) -> int:
    if args.delete_older_than is not None:
        gone = store.delete_older_than(args.delete_older_than)
        print(f"deleted {len(gone)} session(s) unused for {args.delete_older_than:g} days"
              + (f": {', '.join(gone)}" if gone else ""))
    if args.clear:
        n = store.clear_session(args.session)
        print(f"cleared session {args.session!r} ({n} message(s))")
    if args.sessions:
        _print_sessions(store, args.session)
    return EXIT_OK


def _print_sessions(store, current: str | None) -> None:
    from studio.cli.live_view import fmt_cost

    sessions = store.sessions()
    if not sessions:
        print("no sessions yet")
        return
    for s in sessions:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.updated)) if s.updated else "-"
        mark = "*" if s.session == current else " "
        print(f"{mark} {s.session:<24} {s.turns:>5} turns  last {when}  cost {fmt_cost(s.cost_usd)}")


@dataclass
class Turn:
    text: list[str] = field(default_factory=list)
    streamed: bool = False


class Chat:
    """One terminal conversation: reads lines, runs a turn per message, prints the reply."""

    def __init__(self, plan, iface, store, args: argparse.Namespace, extra: dict[str, Any]):
        self.plan, self.iface, self.store, self.args, self.extra = plan, iface, store, args, extra
        self.session: str = args.session
        self.total_usd = 0.0
        self.total_unknown = 0
        self.turns = 0
        self.run = None
        self.tty = sys.stdin.isatty()
        self.settings: dict[str, Any] = {"api_base": args.api_base} if args.api_base else {}
        self.secrets = _secrets()

    async def loop(self) -> int:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, self._interrupt)
        except (NotImplementedError, RuntimeError):
            pass
        if self.tty:
            memory = "with memory" if self.iface.has_memory else "without memory (each turn stands alone)"
            print(f"Chatting with {self.plan.name} {memory}, session {self.session!r}. /exit to leave, /new, "
                  f"/sessions, /clear.", file=sys.stderr)
        await self._warm_up()
        while True:
            if self.tty:
                print("you › ", end="", flush=True, file=sys.stderr)
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:  # end of input
                break
            text = line.rstrip("\n")
            if not text.strip():
                continue
            if text.strip().startswith("/"):
                if not self._command(text.strip()):
                    break
                continue
            await self._turn(text)
        self._goodbye()
        return EXIT_OK

    def _interrupt(self) -> None:
        if self.run is not None:
            self.run.cancel()
        elif self.tty:
            print("\n(type /exit to leave)", file=sys.stderr, flush=True)

    async def _warm_up(self) -> None:
        if any(spec.paid for spec in self.plan.nodes.values()):
            from studio.llm import is_loaded, warm_up

            if not is_loaded():
                try:
                    await asyncio.wrap_future(warm_up())
                except Exception:  # the first model call reports it where it belongs
                    pass

    def _command(self, text: str) -> bool:
        """Handle a /command; False means leave."""
        from studio.core.userdata.conversations import ConversationStoreError

        cmd, _, rest = text.partition(" ")
        rest = rest.strip()
        try:
            if cmd in ("/exit", "/quit"):
                return False
            if cmd == "/new":
                self.session = rest or time.strftime("chat-%Y%m%d-%H%M%S")
                print(f"new session {self.session!r}", file=sys.stderr)
            elif cmd == "/switch" and rest:
                self.session = rest
                turns = next((s.turns for s in self.store.sessions() if s.session == rest), 0)
                print(f"session {self.session!r} ({turns} turns)", file=sys.stderr)
            elif cmd == "/sessions":
                _print_sessions(self.store, self.session)
            elif cmd == "/clear":
                n = self.store.clear_session(self.session)
                print(f"cleared session {self.session!r} ({n} message(s))", file=sys.stderr)
            else:
                print("commands: /new [NAME], /switch NAME, /sessions, /clear, /exit", file=sys.stderr)
        except ConversationStoreError as exc:
            _err(str(exc))
        return True

    async def _turn(self, message: str) -> None:
        from studio.cli.live_view import fmt_cost
        from studio.core.running import events as ev
        from studio.core.running.executor import RunOptions, start_run
        from studio.core.userdata.conversations import ConversationStoreError
        from studio.core.userdata.redaction import Redactor

        redactor = Redactor(self.secrets)
        turn = Turn()
        reply_nodes = set(self.iface.reply_nodes)
        print("assistant › ", end="", flush=True)

        def on_event(e) -> None:
            if e.type != ev.NODE_PROGRESS or e.node not in reply_nodes or e.scope:
                return
            kind = e.data.get("kind")
            if kind == "token":
                piece = str(e.data.get("text") or "")
                turn.text.append(piece)
                turn.streamed = True
                sys.stdout.write(redactor.text(piece))
                sys.stdout.flush()
            elif kind == "stream_reset" and turn.text:
                turn.text.clear()
                sys.stdout.write(" [retrying…]\nassistant › ")
                sys.stdout.flush()
            elif kind == "tool_call":
                sys.stderr.write(f"  (using {e.data.get('tool')})\n")
                sys.stderr.flush()

        options = RunOptions(inputs=self.iface.run_inputs(message, self.extra), mock=self.args.mock,
                             budget_usd=self.args.budget, settings=self.iface.run_settings(self.session, self.settings),
                             secrets=self.secrets)
        self.run = start_run(self.plan, options)
        self.run.add_listener(on_event)
        try:
            result = await self.run.wait()
        finally:
            self.run = None
        reply = result.outputs.get(self.iface.output)
        streamed = "".join(turn.text)
        if result.ok:
            final = reply if isinstance(reply, str) else ("" if reply is None else str(reply))
            if not turn.streamed:
                sys.stdout.write(redactor.text(final))
            elif final.strip() != streamed.strip():  # a guardrail or template changed what the model wrote
                sys.stdout.write("\n(sent as) " + redactor.text(final))
            sys.stdout.write("\n")
        elif result.status == "cancelled":
            sys.stdout.write(" [stopped]\n")
        else:
            sys.stdout.write("\n")
            _err(redactor.text(f"the turn {result.status}" + (f" at {result.error_node}" if result.error_node else "")
                               + (f": {result.error}" if result.error else "")))
        t = result.totals
        cost, unknown = t.get("cost_usd"), t.get("cost_unknown_calls", 0)
        self.turns += 1
        self.total_usd += cost or 0.0
        self.total_unknown += unknown
        try:
            self.store.record_run(result.run_id, self.session, cost, t.get("tokens_in", 0), t.get("tokens_out", 0))
        except ConversationStoreError as exc:
            _err(str(exc))
        mock = bool(self.args.mock)  # nothing was paid: the figures are estimates, as everywhere
        print(f"  · turn {self.turns} · {t.get('tokens_in', 0)} in / {t.get('tokens_out', 0)} out tokens · "
              f"{fmt_cost(cost, unknown, estimate=mock)} · session {self.session!r} "
              f"total {fmt_cost(self.total_usd, self.total_unknown, estimate=mock)}"
              f" · run {result.run_id}", flush=True)

    def _goodbye(self) -> None:
        from studio.cli.live_view import fmt_cost

        print(f"total cost {fmt_cost(self.total_usd, self.total_unknown, estimate=bool(self.args.mock))} "
              f"over {self.turns} turn(s)", flush=True)


def _secrets() -> list[str]:
    try:
        from studio.core.userdata.credentials import known_secrets

        return sorted(known_secrets())
    except Exception:  # a broken keyring must not stop a chat; env keys are still known
        import os

        return [v for k, v in os.environ.items() if k.endswith("_API_KEY") and v]
