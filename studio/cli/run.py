"""`orchestra run FLOW`: run a flow headless with a live view, then outputs and costs.

Progress goes to standard error: a live table on a terminal, one line per event
otherwise (streamed tokens as "node │ text" lines). The result -- outputs, the per-node
table, the totals and the trace path -- goes to standard output, or with --json one
JSON document does. API keys never appear in what it prints: every key the run
knows of is replaced by [redacted] (a provider may echo the key in an error message).

Exit codes: 0 success; 1 the run failed (the message names the node and the error);
2 the flow is invalid or unreadable, an input is bad, or the trace cannot be written
where --trace says; 3 the budget was spent; 4 the flow would run code (tools/*.py,
run_python) that is not trusted -- nothing ran, `orchestra trust FLOW` shows it and
asks; 130 cancelled by Ctrl-C, 143 by SIGTERM
(both end the run the same way: every call stops, the trace is closed with
``run_cancelled`` and the result so far is printed). A second signal ends the process
at once; the trace then keeps all but at most its last 100 ms.

Text that is not valid Unicode: an --input value that is not UTF-8 (the shell passes
bytes), or an --input-file that is not UTF-8 or holds a lone surrogate escape
(``"\\ud800"``), is refused with exit 2 naming the input. What the run produces is
printed with any lone surrogate replaced by U+FFFD (the trace keeps it escaped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_BUDGET, EXIT_UNTRUSTED, EXIT_CANCELLED = 0, 1, 2, 3, 4, 130
EXIT_TERMINATED = 143  # 128 + SIGTERM
MAX_INPUT_FILE_BYTES = 64 * 1024 * 1024
_SURROGATE = re.compile("[\ud800-\udfff]")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a flow headless", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("flow", help="the *.flow.json file")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE",
                   help="a value for an Input node (repeatable)")
    p.add_argument("--input-file", metavar="FILE.json", help="a JSON object of input values")
    p.add_argument("--mock", action="store_true", help="LLM nodes answer with their mock responses (no key, no cost)")
    p.add_argument("--budget", type=float, metavar="USD", help="stop starting paid calls once this much is spent")
    p.add_argument("--concurrency", type=int, default=16, metavar="N", help="nodes running at once (default 16; 0: no limit)")
    p.add_argument("--approve", choices=("all", "none", "ask"), default="ask",
                   help="answer Approval nodes: approve all, reject all, or ask on the terminal (default)")
    p.add_argument("--trace", metavar="PATH", help="where to write the JSON-lines trace (default: the user data folder)")
    p.add_argument("--json", action="store_true", help="print one JSON document with outputs, per-node results and totals")
    p.add_argument("--api-base", metavar="URL", help="send every LLM call of this run to this OpenAI-compatible endpoint")
    p.add_argument("--plain", action="store_true",
                   help="one line per event instead of the live table (the default when standard error is not a terminal)")
    p.set_defaults(func=main)


def _inputs(args: argparse.Namespace) -> dict[str, Any]:
    from studio.core.document.flowfile import lone_surrogate_path

    values: dict[str, Any] = {}
    if args.input_file:
        data = _read_input_file(args.input_file)
        if not isinstance(data, dict):
            raise SystemExit(_fail("--input-file must hold a JSON object of name: value", EXIT_INVALID))
        where = lone_surrogate_path(data)
        if where:
            raise SystemExit(_fail(f"--input-file {args.input_file}: the text at {where} is not valid Unicode "
                                   "(a lone surrogate escape)", EXIT_INVALID))
        values.update(data)
    for item in args.input:
        if "=" not in item:
            raise SystemExit(_fail(f"--input {_printable(item)!r}: expected NAME=VALUE", EXIT_INVALID))
        name, value = item.split("=", 1)
        bad = _SURROGATE.search(item)
        if bad:
            # the shell passed bytes that are not UTF-8; Python kept them as surrogates
            raw = bad.group().encode("utf-8", "surrogateescape") if "\udc80" <= bad.group() <= "\udcff" else b""
            byte = f"byte 0x{raw[0]:02x}" if raw else "a lone surrogate"
            raise SystemExit(_fail(f"--input {_printable(name.strip())}: the value is not valid UTF-8 text "
                                   f"({byte} at character {bad.start() - len(name) - 1})", EXIT_INVALID))
        values[name.strip()] = value
    return values


def _read_input_file(name: str) -> Any:
    """The JSON of --input-file: a regular file, at most 64 MiB, UTF-8; exit 2 otherwise."""
    from studio.core.document.flowfile import SafeReadError, read_regular_file

    try:
        raw = read_regular_file(Path(name), MAX_INPUT_FILE_BYTES)
    except SafeReadError as exc:
        raise SystemExit(_fail(f"cannot read --input-file {_printable(name)}: {exc}", EXIT_INVALID))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SystemExit(_fail(f"--input-file {_printable(name)} is not UTF-8 text (byte {exc.start})", EXIT_INVALID))
    try:
        return json.loads(text)
    except RecursionError:
        raise SystemExit(_fail(f"--input-file {_printable(name)}: JSON nested too deeply", EXIT_INVALID))
    except ValueError as exc:
        raise SystemExit(_fail(f"--input-file {_printable(name)} is not valid JSON: {exc}", EXIT_INVALID))


def _printable(text: str) -> str:
    """``text`` with anything that is not valid Unicode replaced (U+FFFD): safe to print."""
    return _SURROGATE.sub("\ufffd", text)


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return _printable(value)
    if isinstance(value, dict):
        return {_printable(str(k)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value


def _fail(message: str, code: int) -> int:
    print(_printable(f"orchestra run: {message}"), file=sys.stderr)
    return code


def _approval_handler(mode: str):
    from studio.core.catalogue.context import ApprovalDecision
    from studio.core.running.runstate import fmt_value

    async def handler(req):
        if mode == "all":
            return ApprovalDecision("approve", by="flag")
        if mode == "none":
            return ApprovalDecision("reject", reason="--approve none", by="flag")
        if not sys.stdin or not sys.stdin.isatty():
            return ApprovalDecision("reject", reason="no terminal to ask (use --approve all|none)", by="default")
        prompt = (f"\n[{req.node_id}] {req.message}\nValue: {fmt_value(req.value, inline=True, quoted=True, limit=2000)}\n"
                  "Approve? [y]es / [n]o / [e]dit: ")
        answer = (await asyncio.to_thread(input, prompt)).strip().lower()
        if answer.startswith("y"):
            return ApprovalDecision("approve")
        if answer.startswith("e"):
            edited = await asyncio.to_thread(input, "New value (JSON or text): ")
            try:
                value = json.loads(edited)
            except json.JSONDecodeError:
                value = edited
            return ApprovalDecision("approve", value=value)
        return ApprovalDecision("reject", reason="rejected at the terminal")

    return handler


def main(args: argparse.Namespace) -> int:
    from studio.core.errors import FlowFileError
    from studio.core.document.flowfile import load_flow
    from studio.core.running.plan import FlowInvalid, compile_plan, missing_inputs

    try:
        model = load_flow(args.flow)
    except FlowFileError as exc:
        return _fail(str(exc), EXIT_INVALID)
    try:
        plan = compile_plan(model)
    except FlowInvalid as exc:
        if args.json:
            print(json.dumps({"status": "invalid", "problems": [p.to_json() for p in exc.problems]}, indent=2))
        else:
            print(f"orchestra run: {args.flow} is not valid:", file=sys.stderr)
            for p in exc.problems:
                if p.is_error:
                    print(f"  {p}", file=sys.stderr)
        return EXIT_INVALID
    from studio.tools.flow_code import untrusted_refusal

    refusal = untrusted_refusal(model, args.flow)
    if refusal:
        return _fail(refusal, EXIT_UNTRUSTED)
    from studio.core.document.flowfile import to_document
    from studio.core.userdata.secret_scan import secret_values

    args.flow_secrets = secret_values(to_document(model))  # a pasted token in a received flow is redacted too
    inputs = _inputs(args)
    missing = missing_inputs(plan, inputs)
    if missing:
        return _fail(f"the flow needs input(s) {', '.join(missing)}: pass --input NAME=VALUE", EXIT_INVALID)
    unknown = sorted(set(inputs) - set(plan.inputs))
    if unknown:
        return _fail(f"the flow has no input named {', '.join(unknown)} (it has: {', '.join(plan.inputs) or 'none'})", EXIT_INVALID)
    if args.trace:
        from studio.core.running.trace import check_trace_path

        why = check_trace_path(Path(args.trace))
        if why:
            return _fail(f"--trace: {why}", EXIT_INVALID)
    signals = _Signals()
    try:
        with signals:
            return asyncio.run(_run(plan, inputs, args, signals))
    except (asyncio.CancelledError, KeyboardInterrupt):
        # a signal before the run started (while litellm loaded): nothing ran, nothing to keep
        print("orchestra run: cancelled before the run started", file=sys.stderr)
        return signals.exit_code() or EXIT_CANCELLED


class _Signals:
    """SIGINT and SIGTERM cancel the run, even while a node holds the event loop.

    Python-level handlers (not ``loop.add_signal_handler``) run between any two
    bytecodes, so they act while a template renders on the loop: they stop renders
    (``cancel_renders``) and ask the loop to cancel the run. A second signal ends the
    process at once.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.target: Any = None  # the Run, once there is one; before that the main task
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "_Signals":
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except (ValueError, OSError):  # not the main thread
                pass
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        from studio.core.catalogue.templates import cancel_renders

        self.received.append(signum)
        if len(self.received) > 1:
            os._exit(128 + signum)
        cancel_renders()
        loop, target = self.loop, self.target
        if loop is not None and target is not None and not loop.is_closed():
            loop.call_soon_threadsafe(target.cancel)
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        else:
            raise SystemExit(EXIT_TERMINATED)

    def exit_code(self) -> int | None:
        if not self.received:
            return None
        return EXIT_TERMINATED if self.received[0] == signal.SIGTERM else EXIT_CANCELLED


async def _run(plan, inputs: dict[str, Any], args: argparse.Namespace, signals: _Signals) -> int:
    from studio.core.running.executor import RunOptions, start_run
    from studio.core.running.trace import new_trace_path, trace_folder, trace_problem
    from studio.cli.live_view import RunView

    signals.loop = asyncio.get_running_loop()
    signals.target = asyncio.current_task()

    settings: dict[str, Any] = {}
    if args.api_base:
        settings["api_base"] = args.api_base
    secrets: list[str] = []
    try:
        from studio.core.userdata.credentials import known_secrets

        secrets = sorted(known_secrets())
    except Exception:  # a broken keyring must not stop a run; env keys are still redacted below
        import os

        secrets = [v for k, v in os.environ.items() if k.endswith("_API_KEY") and v]
    secrets += getattr(args, "flow_secrets", [])
    options = RunOptions(
        inputs=inputs, concurrency=args.concurrency, budget_usd=args.budget, mock=args.mock,
        approval_handler=_approval_handler(args.approve), settings=settings,
        trace=Path(args.trace) if args.trace else new_trace_path(trace_folder(Path(args.flow))), secrets=secrets,
    )
    view = RunView.create(plain=getattr(args, "plain", False), secrets=secrets)
    # litellm's import and the tokenizers take seconds the first time; pay them before the
    # run starts, so the first model node's latency (and the run's wall time) is the call's
    from studio.llm.warm import needs_warm_up, warm_up_before_run

    if needs_warm_up(plan):
        if not args.json:
            view.console.print("loading litellm…", style="dim", highlight=False)
        await warm_up_before_run(plan)
    run = start_run(plan, options)
    # the view's RunState folds the events either way; --json prints nothing while it runs
    run.add_listener(view.state.on_event if args.json else view.on_event)
    signals.target = run
    if signals.received:  # a signal while litellm loaded
        run.cancel()
    if args.json:
        result = await run.wait()
    else:
        with view:
            result = await run.wait()
    code = {"succeeded": EXIT_OK, "failed": EXIT_FAILED, "budget_exceeded": EXIT_BUDGET, "cancelled": EXIT_CANCELLED}[result.status]
    code = signals.exit_code() or code
    lost_trace = trace_problem(result.trace_path)
    if args.json:
        doc = {
            "status": result.status, "run_id": result.run_id, "outputs": result.outputs, "error": result.error,
            "error_node": result.error_node, "nodes": view.state.node_summary(), "totals": result.totals,
            "trace": str(result.trace_path) if result.trace_path and not lost_trace else None,
        }
        if lost_trace:
            doc["trace_problem"] = lost_trace
        from studio.core.userdata.credentials import redact
        from studio.core.running.events import jsonable

        # what is printed is often saved (`> run.json`): no key in it, like the trace
        print(json.dumps(_clean_json(redact(jsonable(doc), view.redaction_set())), indent=2, ensure_ascii=False))
        return code
    # the result goes to standard output (`> result.txt` keeps it); progress stayed on stderr
    from rich.console import Console
    from studio.core.running.runstate import fmt_value

    out = Console(file=sys.stdout, highlight=False, soft_wrap=False)
    if result.outputs:
        out.print("[bold]Outputs[/bold]")
        for name, value in result.outputs.items():
            text = fmt_value(value)
            out.print(f"[bold cyan]{_printable(view.clean(name))}[/bold cyan]:", highlight=False)
            out.print(_printable(view.clean(text)), markup=False, highlight=False)
    out.print(view.summary_table())
    t = result.totals
    cost = view.cost(t["cost_usd"], t.get("cost_unknown_calls", 0))  # the shared formatter (an estimate when mocked)
    out.print(f"{result.status} in {t['wall_s']:.2f} s · tokens {t['tokens_in']} in / {t['tokens_out']} out · cost {cost}"
              + (f" · budget ${args.budget:g}" if args.budget is not None else ""), highlight=False, soft_wrap=True)
    if lost_trace:
        out.print(f"trace: not kept ({lost_trace})", highlight=False, markup=False, soft_wrap=True)
    elif result.trace_path:  # never wrapped: a path is copied from the terminal or a log
        out.print(f"trace: {result.trace_path}", highlight=False, markup=False, soft_wrap=True)
    if code == EXIT_FAILED:
        print(_printable(view.clean(f"orchestra run: failed at {result.error_node or 'the flow'}: {result.error}")), file=sys.stderr)
    elif code == EXIT_BUDGET:
        print(_printable(view.clean(f"orchestra run: {result.error}")), file=sys.stderr)
    elif code in (EXIT_CANCELLED, EXIT_TERMINATED):
        how = "terminated (SIGTERM)" if code == EXIT_TERMINATED else "cancelled"
        print(f"orchestra run: {how}; the trace is kept" if not lost_trace else f"orchestra run: {how}", file=sys.stderr)
    return code

