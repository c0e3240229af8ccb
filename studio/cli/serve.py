"""`orchestra serve FLOW_OR_FOLDER…`: serve flows as an authenticated HTTP API.

Each flow is named by its file's stem (support_router.flow.json -> support_router).
Endpoints: GET /flows; POST /flows/{name}/runs (?stream=true for server-sent events,
?wait=false to get the run id at once); GET /runs/{id}; GET /runs/{id}/trace;
POST /runs/{id}/approvals/{node}; POST /runs/{id}/cancel; and, for flows with a chat
interface, the OpenAI-compatible GET /v1/models and POST /v1/chat/completions.

Every request needs "Authorization: Bearer <token>". The token is ORCHESTRA_SERVE_TOKEN
when set, else one kept in the OS keyring (made at the first start; --print-token shows
it). The server binds to 127.0.0.1 unless --host says otherwise.

SIGTERM or Ctrl-C: no new runs; running requests get --grace seconds to finish, then are
cancelled; exit 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID = 0, 2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve flows as an HTTP API (OpenAI-compatible for chat flows)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("flows", nargs="*", metavar="FLOW_OR_FOLDER", help="*.flow.json files, or folders holding them")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8787, help="port (default 8787)")
    p.add_argument("--concurrency", type=int, default=16, metavar="N",
                   help="runs at once; more get 429 with Retry-After (default 16; 0: no limit)")
    p.add_argument("--node-concurrency", type=int, default=16, metavar="N",
                   help="nodes running at once within one run (default 16)")
    p.add_argument("--budget-per-request", type=float, metavar="USD", help="each run stops starting paid calls past this")
    p.add_argument("--budget-per-day", type=float, metavar="USD",
                   help="all runs of a UTC day together; then 429 until midnight UTC")
    p.add_argument("--mock", action="store_true", help="LLM nodes answer with their mock responses (no key, no cost)")
    p.add_argument("--reload", action="store_true", help="pick up edited flow files for new requests")
    p.add_argument("--api-base", metavar="URL", help="send every LLM call to this OpenAI-compatible endpoint")
    p.add_argument("--max-body", type=int, default=1 << 20, metavar="BYTES", help="largest request body (default 1 MiB)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="allow browser pages from this origin (repeatable; default: none)")
    p.add_argument("--grace", type=float, default=30.0, metavar="S",
                   help="on SIGTERM, seconds running requests may take to finish (default 30)")
    p.add_argument("--access-log", action="store_true",
                   help="log every request line and every run's outcome (runs that do not succeed are always logged)")
    p.add_argument("--no-trace", action="store_true", help="keep no trace of served runs (they then miss from History)")
    p.add_argument("--print-token", action="store_true", help="print the server's token (making one if needed) and exit")
    p.set_defaults(func=main)


def _fail(message: str, code: int = EXIT_INVALID) -> int:
    print(f"orchestra serve: {message}", file=sys.stderr)
    return code


def main(args: argparse.Namespace) -> int:
    from studio.serve.auth import TokenUnavailable, server_token

    try:
        token, source = server_token()
    except TokenUnavailable as exc:
        return _fail(str(exc))
    if args.print_token:
        print(token)
        return EXIT_OK
    if not args.flows:
        return _fail("name at least one flow file or folder")
    for name, value in (("--port", args.port), ("--concurrency", args.concurrency), ("--max-body", args.max_body)):
        if value < 0:
            return _fail(f"{name} cannot be negative")
    for name, value in (("--budget-per-request", args.budget_per_request), ("--budget-per-day", args.budget_per_day)):
        if value is not None and value < 0:
            return _fail(f"{name} cannot be negative")

    from studio.serve.app import create_app
    from studio.serve.catalogue import CatalogueError, FlowCatalogue
    from studio.serve.documents import add_secrets
    from studio.serve.launcher import Launcher, ServeSettings
    from studio.serve.limits import DailyBudget, ledger_path
    from studio.serve.server import configure_logging, run_server

    configure_logging()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"orchestra serve: listening on {args.host}: other machines can reach this server (the token still "
              "guards every request; put TLS in front of it)", file=sys.stderr)
    try:
        catalogue = FlowCatalogue([Path(f) for f in args.flows], reload=args.reload)
    except CatalogueError as exc:
        return _fail(str(exc))
    secrets = [token]
    try:
        from studio.core.userdata.credentials import known_secrets

        secrets += sorted(known_secrets())
    except Exception:  # a broken keyring: env keys are still redacted by the Redactor
        pass
    add_secrets(secrets)
    settings = ServeSettings(mock=args.mock, budget_per_request=args.budget_per_request,
                             budget_per_day=args.budget_per_day, concurrency=args.concurrency,
                             node_concurrency=args.node_concurrency, api_base=args.api_base, secrets=secrets,
                             trace=not args.no_trace, log_runs=args.access_log)
    launcher = Launcher(catalogue, settings, DailyBudget(args.budget_per_day, ledger_path()))
    flows = catalogue.all()

    async def startup() -> None:
        if any(spec.paid or spec.kind == "subflow" for f in flows for spec in f.plan.nodes.values()):
            # litellm takes seconds to import: pay it now, not in the first request's latency
            import asyncio

            from studio.llm import is_loaded, warm_up

            if not is_loaded():
                try:
                    await asyncio.wrap_future(warm_up())
                except Exception:
                    pass
        where = {"environment": f"from {'ORCHESTRA_SERVE_TOKEN'}", "keyring": "in the OS keyring",
                 "keyring (new)": "new, stored in the OS keyring"}[source]
        print(f"orchestra serve: {len(flows)} flow(s) at http://{_url_host(args.host)}:{args.port} "
              f"({', '.join(f.name for f in flows)}){' · mock' if args.mock else ''}", file=sys.stderr)
        print(f"orchestra serve: bearer token {where}; `orchestra serve --print-token` prints it", file=sys.stderr)
        sys.stderr.flush()

    app = create_app(launcher, token, max_body_bytes=args.max_body, cors_origins=args.cors_origin,
                     grace_s=args.grace, startup=startup)
    run_server(app, args.host, args.port, args.grace, launcher.begin_draining, access_log=args.access_log)
    return EXIT_OK


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
