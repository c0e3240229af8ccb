"""`orchestra serve`: flows as an authenticated HTTP API (Starlette on uvicorn), no Qt.

One module per job:

* ``catalogue`` -- which flows are served, under which names, reloaded when edited;
* ``schema`` -- a flow's interface as JSON Schema, and request inputs checked against it;
* ``auth`` -- the bearer token (keyring or ORCHESTRA_SERVE_TOKEN) and the middleware;
* ``limits`` -- body size, run slots (429 + Retry-After), the per-day budget ledger;
* ``registry`` -- the runs this server started, their approvals, their results;
* ``documents`` -- what a response says about a run, always redacted;
* ``runs_api`` / ``openai_api`` -- the native endpoints and the OpenAI-compatible ones;
* ``app`` -- wires them into one Starlette app; ``server`` -- runs it on uvicorn with a
  draining SIGTERM.
"""
