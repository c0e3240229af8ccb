"""Secret scan: with an API key set, run, save, export and trace a flow -- then read every
file that was written and look for the key, in plain text and in its obvious encodings.

The key is set one way or the other (the OPENAI_API_KEY environment variable, or only in
the OS keyring), and the loopback server checks that it really arrived in the
Authorization header, so the scan proves something: the key was in the process and was
used. The server also echoes the key back, as some providers and proxies do, in a
rate-limit message (a retry notice) and in a 401 that lands on a wired error port and
from there in the flow's outputs; those copies must come out as [redacted].

Everything runs as a user runs it: the real ``orchestra`` CLI in subprocesses, with HOME,
XDG folders, TMPDIR, the data folder (traces) and the config folder all inside the test's
tmp_path, which is what gets scanned.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import pytest

from studio.core.userdata import credentials
from studio.core.document.commands import AddNode, Connect, UndoStack
from studio.core.running.executor import RunOptions, run_flow
from studio.core.document.flowfile import load_flow, save_flow
from studio.core.document.model import FlowModel
from support.mock_openai import MockOpenAIThread, Reply, SeenRequest

REPO = Path(__file__).resolve().parents[2]
REDACTED = "[redacted]"


def new_key() -> str:
    return f"sk-proj-scan{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"


def needles(key: str) -> dict[str, bytes]:
    """The key as it could end up in a file: plain, hex, URL-quoted, base64 at each alignment."""
    raw = key.encode()
    found = {"plain": raw, "without its sk- prefix": raw[3:], "a 16-character run of it": raw[12:28],
             "hex": raw.hex().encode(), "HEX": raw.hex().upper().encode(),
             "url-quoted": urllib.parse.quote(key, safe="").encode(), "reversed": raw[::-1]}
    for i in range(3):  # base64 of any text containing the key contains one of these
        part = raw[i:]
        part = part[: len(part) // 3 * 3]
        found[f"base64 (offset {i})"] = base64.b64encode(part)
        found[f"urlsafe base64 (offset {i})"] = base64.urlsafe_b64encode(part).rstrip(b"=")
    return found


def scan(root: Path, key: str) -> list[str]:
    """'file: encoding' for every written file holding the key in some form."""
    hits = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        for name, needle in needles(key).items():
            if needle in data:
                hits.append(f"{path.relative_to(root)}: {name}")
    return hits


def written_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# -- the server: takes the key, and echoes it the way careless providers do ---------------


def leaky_server(server) -> None:
    def rate_limited_every_other_call(seen: SeenRequest) -> Reply:
        n = server.count_for(seen.model)
        if n % 2 == 1:  # the first call of each run: 429 naming the key, then a real answer
            return Reply(status=429, retry_after=0.05,
                         error_message=f"Rate limit reached for key {bearer(seen)} on requests per min")
        return Reply.text("The answer is forty-two.", usage=(40, 6))

    server.on_model("gpt-4o-mini", rate_limited_every_other_call)
    server.on_model("leaky-proxy", lambda seen: Reply(
        status=401, error_message=f"Incorrect API key provided: {bearer(seen)}. Check your proxy settings."))


def bearer(seen: SeenRequest) -> str:
    return (seen.authorization or "").removeprefix("Bearer ")


def build_flow(path: Path) -> Path:
    m = FlowModel("secret scan")
    s = UndoStack(m)
    for c in (
        AddNode("input", node_id="topic", params={"name": "topic", "type": "text"}),
        AddNode("llm", node_id="ask", params={"model": "gpt-4o-mini", "prompt": "Tell me about {{ topic }}",
                                              "retries": 2, "retry_backoff_s": 0.05}),
        AddNode("llm", node_id="leaky", params={"model": "openai/leaky-proxy", "prompt": "And {{ topic }}?",
                                                "retries": 0, "stream": False}),
        AddNode("output", node_id="answer", params={"name": "answer"}),
        AddNode("output", node_id="leak", params={"name": "leak_error"}),
        Connect("topic", "value", "ask", "topic"), Connect("topic", "value", "leaky", "topic"),
        Connect("ask", "text", "answer", "value"), Connect("leaky", "error", "leak", "value"),
    ):
        s.push(c)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_flow(m, path)
    return path


# -- the CLI ---------------------------------------------------------------------------


def cli_env(tmp: Path, key: str, source: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in credentials.ENV_VARS.values()}
    for sub in ("home", "xdg-data", "xdg-config", "xdg-cache", "xdg-state", "tmp", "data", "config"):
        (tmp / sub).mkdir(exist_ok=True)
    env.update({
        "HOME": str(tmp / "home"), "XDG_DATA_HOME": str(tmp / "xdg-data"), "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        "XDG_CACHE_HOME": str(tmp / "xdg-cache"), "XDG_STATE_HOME": str(tmp / "xdg-state"), "TMPDIR": str(tmp / "tmp"),
        "ORCHESTRA_DATA_DIR": str(tmp / "data"), "ORCHESTRA_CONFIG_DIR": str(tmp / "config"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    if source == "environment":
        env["OPENAI_API_KEY"] = key
    else:  # only in the (in-memory, per-process) keyring: no environment variable holds it
        env["PYTHON_KEYRING_BACKEND"] = "support.env_keyring.EnvKeyring"
        env["ORCHESTRA_TEST_KEYRING"] = json.dumps({credentials.SERVICE: {"openai": key}})
    return env


def orchestra(tmp: Path, env: dict[str, str], name: str, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI; what it prints is kept as files (a user's `> run.log`), so it is scanned too."""
    r = subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True, cwd=REPO,
                       env=env, timeout=120)
    out = tmp / "printed"
    out.mkdir(exist_ok=True)
    (out / f"{name}.stdout").write_text(r.stdout)
    (out / f"{name}.stderr").write_text(r.stderr)
    return r


@pytest.fixture
def server():
    with MockOpenAIThread() as s:
        leaky_server(s)
        yield s


@pytest.mark.parametrize("source", ["environment", "keyring"])
def test_no_written_file_contains_the_key(server, tmp_path, source):
    key = new_key()
    env = cli_env(tmp_path, key, source)
    flow = build_flow(tmp_path / "flows" / "scan.flow.json")

    # run: the live view's text output, then the --json document
    r = orchestra(tmp_path, env, "run", "run", str(flow), "--api-base", server.base_url, "--input", "topic=keys")
    assert r.returncode == 0, r.stderr
    assert "The answer is forty-two." in r.stdout  # the outputs go to standard output
    assert "↻ ask" in r.stderr and REDACTED in r.stderr  # the retry notice, its echoed key redacted
    r = orchestra(tmp_path, env, "run-json", "run", str(flow), "--api-base", server.base_url, "--input",
                  "topic=keys", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["outputs"]["answer"] == "The answer is forty-two."
    leak = doc["outputs"]["leak_error"]["message"]
    assert "Incorrect API key provided: [redacted]" in leak, leak  # it was there, and it was replaced

    # the key really was used: every call carried it, from the environment or the keyring
    assert server.count == 6  # per run: ask 429 + ask ok + leaky 401
    assert {seen.authorization for seen in server.requests} == {f"Bearer {key}"}

    # save (load and save again, as the studio does) and export, to a file and to stdout
    model = load_flow(flow)
    save_flow(model, tmp_path / "flows" / "resaved.flow.json")
    assert (tmp_path / "flows" / "resaved.flow.json").read_bytes() == flow.read_bytes()
    r = orchestra(tmp_path, env, "export", "export", str(flow), "-o", str(tmp_path / "flows" / "shared.flow.json"))
    assert r.returncode == 0, r.stderr
    r = orchestra(tmp_path, env, "export-stdout", "export", str(flow))
    assert r.returncode == 0 and '"format": "orchestra-flow"' in r.stdout, r.stderr

    # the traces: two runs, each with the echoed key replaced
    traces = sorted((tmp_path / "data" / "traces").rglob("*.jsonl"))
    assert len(traces) == 2, written_files(tmp_path)
    for trace in traces:
        text = trace.read_text()
        assert '"type":"run_finished"' in text and REDACTED in text

    hits = scan(tmp_path, key)
    assert not hits, f"the key was written to disk: {hits}"


def test_export_refuses_a_flow_holding_the_key_and_writes_nothing(tmp_path):
    key = new_key()
    env = cli_env(tmp_path, key, "environment")
    m = FlowModel("pasted key")
    UndoStack(m).push(AddNode("template", node_id="t", params={"template": f"curl -H 'Authorization: Bearer {key}'"}))
    flow = tmp_path / "flows" / "pasted.flow.json"
    flow.parent.mkdir()
    save_flow(m, flow, allow_secrets=True)  # the user's own file may hold what they typed, once they said so...
    r = orchestra(tmp_path, env, "export", "export", str(flow), "-o", str(tmp_path / "flows" / "shared.flow.json"))
    assert r.returncode == 1 and "an API key appears at" in r.stderr, r.stderr
    assert not (tmp_path / "flows" / "shared.flow.json").exists()  # ...but never an export of it
    flow.unlink()
    assert scan(tmp_path, key) == []  # and the refusal does not print it either


def test_scan_catches_an_encoded_key(tmp_path):
    """The scanner itself: a key written base64-encoded inside other text is found."""
    key = new_key()
    blob = base64.b64encode(f"user:{key}".encode()).decode()
    (tmp_path / "log.txt").write_text(f"Authorization: Basic {blob}\n")
    assert any("base64" in hit for hit in scan(tmp_path, key))


# -- the executor on its own: a trace is redacted even when the caller passes no secrets --


async def test_trace_redacts_a_key_first_looked_up_during_the_run(memory_keyring, mock_openai, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    key = new_key()  # never seen by this process before the run looks it up in the keyring
    memory_keyring.store[(credentials.SERVICE, "openai")] = key
    leaky_server(mock_openai)
    flow = build_flow(tmp_path / "scan.flow.json")
    trace = tmp_path / "trace.jsonl"
    result = await run_flow(load_flow(flow), RunOptions(inputs={"topic": "keys"}, settings={"api_base": mock_openai.base_url},
                                                        trace=trace, secrets=()))
    assert result.ok, result.error
    assert {seen.authorization for seen in mock_openai.requests} == {f"Bearer {key}"}
    assert key in result.outputs["leak_error"]["message"]  # in memory the value is what the provider said
    text = trace.read_text()
    assert "Incorrect API key provided: [redacted]" in text and "Rate limit reached for key [redacted]" in text
    assert scan(tmp_path, key) == []


# -- the save/export scanner: key-shaped strings, whether or not this process knows them ---

from studio.core.userdata.secret_scan import scan_document  # noqa: E402

SHAPED = {
    "an OpenAI-style API key": "sk-proj-" + "Ab3" * 12,
    "an Anthropic API key": "sk" "-ant-api03-" + "x9Y" * 10,
    "a Google API key": "AIza" + "B7c" * 11 + "dE",
    "a GitHub token": "ghp_" + "a1B2" * 9,
    "a GitLab token": "glpat-" + "Zz9" * 7,
    "a Slack token": "xoxb" "-1234567890-abcdefghij",
    "an AWS access key": "AKIA" + "ABCDEFGH23456789",
    "a Hugging Face token": "hf_" + "Qw8" * 11,
    "a JSON web token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "a bearer token": "Bearer 8f3a9c2e71d04b5aa6e1c9f2",
    "Basic credentials": "Basic dXNlcjpwYXNzd29yZDEyMzQ1",
    "a password in a URL": "postgres://admin:hunter2hunter2@db.internal:5432/app",
    "a private key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
}


@pytest.mark.parametrize("kind", sorted(SHAPED))
def test_the_scanner_finds_each_key_format_in_a_prompt(kind):
    doc = {"nodes": [{"id": "ask", "type": "llm", "params": {"prompt": f"Use this: {SHAPED[kind]} thanks"}}]}
    found = scan_document(doc)
    assert [(f.kind, f.path, f.node) for f in found] == [(kind, "$.nodes[0].params.prompt", "ask")]
    assert SHAPED[kind] not in found[0].preview() and not found[0].movable  # a prompt's key is removed, not moved


def test_high_entropy_values_under_secret_names_are_found_and_movable():
    doc = {"nodes": [{"id": "call", "type": "tool", "params": {"tool": "http_request", "arguments": {
        "headers": {"X-Api-Key": "q8Zr2LmX0vT4pW9s", "Cookie": "sid=abc", "Accept": "a8Zr2LmX0vT4pW9sQ"},
        "api_key": "YOUR_API_KEY_HERE"}}}]}
    found = scan_document(doc)
    assert [(f.path, f.kind) for f in found] == [
        ("$.nodes[0].params.arguments.headers['X-Api-Key']", "a high-entropy value in a secret-named field")]
    assert found[0].movable and found[0].suggested_name() == "CALL_X_API_KEY"


def test_references_and_the_shipped_examples_are_not_findings():
    doc = {"nodes": [{"id": "c", "type": "tool", "params": {"arguments": {"headers": {
        "Authorization": "Bearer {{ secrets.GITHUB_TOKEN }}", "X-Api-Key": "{{ secrets.KEY }}"}}}}]}
    assert scan_document(doc) == []
    for path in sorted((REPO / "projects").glob("*.flow.json")):
        assert scan_document(json.loads(path.read_text())) == [], path.name


def test_a_known_secret_is_found_in_any_encoding():
    secret = "plain-looking-but-known-0001"
    for text in (secret, base64.b64encode(f"u:{secret}".encode()).decode(), secret.encode().hex(),
                 urllib.parse.quote(f"x={secret}&y", safe="")):
        doc = {"description": f"see {text}"}
        assert [f.path for f in scan_document(doc, [secret])] == ["$.description"], text
