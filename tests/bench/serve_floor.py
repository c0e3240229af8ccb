"""The stack's floor for bench_serve.py: a bare Starlette endpoint on the same uvicorn.

``POST /flows/five/runs`` reads the request body and answers a canned JSON body (the
bytes of a real run document from `orchestra serve`, so the response is the same size)
-- no token check, no validation, no run. It is served by ``studio.serve.server.run_server``,
the very function `orchestra serve` uses, so the settings are the same (httptools,
uvloop, no access log, no server header). Whatever latency this endpoint shows under a
load is what the HTTP stack and the machine cost before orchestra does anything: the
least "added latency" any endpoint on this stack can have at that load.

Run: python tests/bench/serve_floor.py --port N --body FILE (SIGTERM stops it, exit 0)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def make_app(body: bytes):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def canned(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/flows/five/runs", canned, methods=["POST"])])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--body", type=Path, required=True)
    args = ap.parse_args()
    from studio.serve.server import run_server

    run_server(make_app(args.body.read_bytes()), "127.0.0.1", args.port, 5.0, lambda: None, log_level="warning")


if __name__ == "__main__":
    main()
