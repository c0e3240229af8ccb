"""What responses say: a run's result document, errors, and the JSON encoding that redacts.

A run's document has the same fields as ``orchestra run --json`` (status, run id, outputs,
error, per-node summary, totals; the per-node part is the same ``RunState.node_summary``)
plus links to the run and its trace instead of a file path. Every body this server
writes goes through ``json_response`` / ``encode``, which replace every API key the
process knows of by ``[redacted]`` -- a provider that echoes the key in an error message
cannot leak it through us.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from starlette.responses import Response

from studio.core.running.events import json_bytes, jsonable
from studio.core.userdata.redaction import Redactor

_redactor = Redactor()


def add_secrets(values: Iterable[str]) -> None:
    """Also redact these (the server's own token, say) from every body from now on."""
    global _redactor
    _redactor = Redactor(values)


def redact_bytes(data: bytes) -> bytes:
    return _redactor.bytes(data)


def redact_str(text: str) -> str:
    return _redactor.text(text)


def encode(doc: Any) -> bytes:
    """JSON bytes of ``doc`` (any value; SKIP and odd objects made JSON-safe), redacted."""
    return _redactor.bytes(json_bytes(doc))


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encode(content)


def json_response(doc: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONBody(doc, status_code=status, headers=dict(headers or {}))


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None,
                   **extra: Any) -> Response:
    """OpenAI-shaped error ({"error": {message, type, code, ...}}), which its SDKs parse."""
    body = {"message": message, "type": code, "code": code, **extra}
    return json_response({"error": body}, status, headers)


# a run's outcome -> the HTTP status of the request that waited for it
HTTP_STATUS = {"succeeded": 200, "failed": 500, "budget_exceeded": 429, "cancelled": 503}


def run_document(run_id: str, flow: str, result, nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``nodes``: the run's per-node summary, ``RunState.node_summary()`` -- the one fold
    ``orchestra run --json`` prints too."""
    return {
        "run_id": run_id,
        "flow": flow,
        "status": result.status,
        "outputs": jsonable(result.outputs),
        "error": result.error,
        "error_node": result.error_node,
        "nodes": nodes,
        "totals": result.totals,
        "links": links(run_id),
    }


def links(run_id: str) -> dict[str, str]:
    return {"run": f"/runs/{run_id}", "trace": f"/runs/{run_id}/trace"}
