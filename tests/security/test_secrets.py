"""Finding 4: a header token and a pasted key never reach a trace, a save, an export or a log,
in raw, base64, URL-encoded or hex form. Through the real CLI, against a loopback server
that echoes the secret headers back in those four encodings; every file the test wrote
(traces, the CLI's printed output kept as files, exports) is scanned afterwards.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
import uuid
from pathlib import Path

import pytest

from studio.core.catalogue.nodetype import Param
from studio.core.document.flowfile import load_flow, save_flow
from studio.core.userdata.secret_scan import SecretsInFlow
from tests.security.echo_server import EchoServer
from tests.security.hostile import env_for, orchestra

REDACTED = "[redacted]"


def token() -> str:
    return "ghp_" + uuid.uuid4().hex + uuid.uuid4().hex[:8]


def pasted_key() -> str:
    return "sk-proj-" + uuid.uuid4().hex + uuid.uuid4().hex[:12]


def needles(secret: str) -> dict[str, bytes]:
    raw = secret.encode()
    found = {"raw": raw, "url-encoded": urllib.parse.quote(secret, safe="").encode(), "hex": raw.hex().encode(),
             "HEX": raw.hex().upper().encode()}
    for i in range(3):  # base64 of any text holding the secret holds one of these
        part = raw[i:]
        part = part[: len(part) // 3 * 3]
        found[f"base64 (offset {i})"] = base64.b64encode(part)
        found[f"urlsafe base64 (offset {i})"] = base64.urlsafe_b64encode(part)
    return found


def scan(root: Path, secret: str) -> list[str]:
    hits = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            hits += [f"{path.relative_to(root)}: {name}" for name, n in needles(secret).items() if n in data]
    return hits


def keep(tmp: Path, name: str, r) -> None:
    """What the CLI printed, kept as files (a user's `> run.log`), so the scan covers it."""
    out = tmp / "printed"
    out.mkdir(exist_ok=True)
    (out / f"{name}.stdout").write_text(r.stdout)
    (out / f"{name}.stderr").write_text(r.stderr)


def with_keyring(env: dict[str, str], secrets: dict[str, str]) -> dict[str, str]:
    store = {f"secret:{k}": v for k, v in secrets.items()}
    store["__secrets__"] = json.dumps(sorted(secrets))
    return {**env, "PYTHON_KEYRING_BACKEND": "support.env_keyring.EnvKeyring",
            "ORCHESTRA_TEST_KEYRING": json.dumps({"orchestra-studio": store})}


def http_flow(path: Path, url: str, headers: dict[str, str]) -> Path:
    doc = {"format": "orchestra-flow", "version": 1, "name": "api call",
           "nodes": [{"id": "call", "type": "tool", "params": {"tool": "http_request",
                                                               "arguments": {"url": url, "headers": headers}}},
                     {"id": "reply", "type": "output", "params": {"name": "reply"}}],
           "edges": [{"from": "call.result", "to": "reply.value"}]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_secrets_cli_set_list_delete_never_print_the_value(tmp_path):
    value = token()
    env = env_for(tmp_path)
    memory = with_keyring(env, {})
    r = orchestra(memory, "secrets", "set", "API_TOKEN", "--stdin", stdin=value + "\n")
    assert r.returncode == 0 and "{{ secrets.API_TOKEN }}" in r.stdout, r.stderr
    keep(tmp_path, "set", r)
    assert orchestra(memory, "secrets", "set", "not a name", "--stdin", stdin="x\n").returncode == 2
    seeded = with_keyring(env, {"API_TOKEN": value})
    r = orchestra(seeded, "secrets", "list")
    assert r.returncode == 0 and "API_TOKEN" in r.stdout and "OS keyring" in r.stdout
    keep(tmp_path, "list", r)
    r = orchestra(seeded, "secrets", "delete", "API_TOKEN")
    assert r.returncode == 0 and "deleted API_TOKEN" in r.stdout
    assert orchestra(seeded, "secrets", "delete", "OTHER").returncode == 1
    # this box has no OS keyring: set refuses and names the environment variable, writes nothing
    r = orchestra(env, "secrets", "set", "API_TOKEN", "--stdin", stdin=value + "\n")
    assert r.returncode == 1 and "ORCHESTRA_SECRET_API_TOKEN" in r.stderr
    keep(tmp_path, "no-keyring", r)
    listed = orchestra({**env, "ORCHESTRA_SECRET_FROM_ENV": value}, "secrets", "list")
    assert "FROM_ENV" in listed.stdout and "environment (ORCHESTRA_SECRET_FROM_ENV)" in listed.stdout
    keep(tmp_path, "list-env", listed)
    assert scan(tmp_path, value) == []


@pytest.mark.parametrize("source", ["keyring", "environment"])
def test_a_header_token_never_reaches_a_trace_a_log_a_save_or_an_export(tmp_path, source):
    value = token()
    env = env_for(tmp_path)
    env = with_keyring(env, {"API_TOKEN": value}) if source == "keyring" else {**env, "ORCHESTRA_SECRET_API_TOKEN": value}
    with EchoServer() as server:
        flow = http_flow(tmp_path / "flows" / "api.flow.json", server.url,
                         {"Authorization": "Bearer {{ secrets.API_TOKEN }}", "X-Api-Key": "{{ secrets.API_TOKEN }}"})
        r = orchestra(env, "run", str(flow), "--plain")  # where a secret goes is reviewed like code
        keep(tmp_path, "untrusted", r)
        assert r.returncode == 4 and "uses secret API_TOKEN (node call)" in r.stderr and server.seen == []
        r = orchestra(env, "trust", str(flow), "--yes")
        keep(tmp_path, "trust", r)
        assert r.returncode == 0 and f"sends it to {server.url}" in r.stdout
        r = orchestra(env, "run", str(flow), "--plain")
        keep(tmp_path, "run", r)
        assert r.returncode == 0, r.stderr
        r = orchestra(env, "run", str(flow), "--json")
        keep(tmp_path, "run-json", r)
        assert r.returncode == 0, r.stderr
        # it really was sent: the server saw the token, and echoed it in every encoding
        assert server.seen[-1] == {"Authorization": f"Bearer {value}", "X-Api-Key": value, "Cookie": None}
        echo = json.loads(r.stdout)["outputs"]["reply"]["json"]["echo"]
        assert REDACTED in echo["Authorization"]["raw"] and REDACTED in echo["Authorization"]["base64"]
        assert REDACTED in echo["X-Api-Key"]["hex"] and REDACTED in echo["X-Api-Key"]["url"]
    r = orchestra(env, "export", str(flow), "-o", str(tmp_path / "flows" / "shared.flow.json"))
    keep(tmp_path, "export", r)
    assert r.returncode == 0, r.stderr
    assert "Bearer {{ secrets.API_TOKEN }}" in (tmp_path / "flows" / "shared.flow.json").read_text()
    save_flow(load_flow(flow), tmp_path / "flows" / "resaved.flow.json")  # a reference is not a secret
    traces = list((tmp_path / "data").rglob("*.jsonl"))
    assert len(traces) == 2 and all(REDACTED in t.read_text() for t in traces)
    assert scan(tmp_path, value) == []


def test_a_missing_secret_fails_the_node_naming_how_to_store_it(tmp_path):
    env = env_for(tmp_path)
    flow = http_flow(tmp_path / "f" / "api.flow.json", "http://127.0.0.1:9/", {"Authorization": "Bearer {{ secrets.NOPE }}"})
    assert orchestra(env, "trust", str(flow), "--yes").returncode == 0
    r = orchestra(env, "run", str(flow))
    assert r.returncode == 1 and "orchestra secrets set NOPE" in r.stderr and "ORCHESTRA_SECRET_NOPE" in r.stderr


def test_a_pasted_key_is_refused_by_save_and_export_and_redacted_from_a_run(tmp_path):
    key = pasted_key()
    env = env_for(tmp_path)  # the key is in no keyring and no environment variable: unknown to the process
    with EchoServer() as server:
        flow = http_flow(tmp_path / "flows" / "pasted.flow.json", server.url,
                         {"X-Api-Key": key, "Cookie": f"session={key}"})
        r = orchestra(env, "export", str(flow), "-o", str(tmp_path / "flows" / "shared.flow.json"))
        keep(tmp_path, "export", r)
        assert r.returncode == 1 and "$.nodes[0].params.arguments.headers['X-Api-Key']" in r.stderr, r.stderr
        assert not (tmp_path / "flows" / "shared.flow.json").exists()

        with pytest.raises(SecretsInFlow) as refused:
            save_flow(load_flow(flow), tmp_path / "flows" / "resaved.flow.json")
        assert refused.value.json_path.startswith("$.nodes[0].params.arguments.headers")
        assert key not in str(refused.value)
        assert not (tmp_path / "flows" / "resaved.flow.json").exists()

        for mode in ("--plain", "--json"):
            r = orchestra(env, "run", str(flow), mode)
            keep(tmp_path, f"run{mode}", r)
            assert r.returncode == 0, r.stderr
        assert server.seen[-1]["X-Api-Key"] == key  # the flow's own value was used...
    flow.unlink()  # ...the hand-written file holds it by construction; nothing else may
    assert len(list((tmp_path / "data").rglob("*.jsonl"))) == 2
    assert scan(tmp_path, key) == []


def test_the_secret_param_kind_holds_a_reference_never_a_value():
    p = Param("token", "secret", "", "An API token.")
    assert p.check("{{ secrets.GITHUB_TOKEN }}") is None and p.check("") is None
    assert "never hold the value" in p.check("ghp" "_0123456789abcdef0123456789abcdef0123")
    assert "never hold the value" in p.check("Bearer {{ secrets.X }} and more")


def test_a_received_flow_cannot_send_a_stored_secret_somewhere_new(tmp_path):
    """The person trusted their flow to send GITHUB_TOKEN to one address; an edit that points it
    elsewhere (or a new flow naming the same secret) is refused before any request is made."""
    value = token()
    env = with_keyring(env_for(tmp_path), {"GITHUB_TOKEN": value})
    with EchoServer() as mine, EchoServer() as theirs:
        flow = http_flow(tmp_path / "f" / "api.flow.json", mine.url, {"Authorization": "Bearer {{ secrets.GITHUB_TOKEN }}"})
        assert orchestra(env, "trust", str(flow), "--yes").returncode == 0
        assert orchestra(env, "run", str(flow)).returncode == 0 and len(mine.seen) == 1
        http_flow(flow, theirs.url, {"Authorization": "Bearer {{ secrets.GITHUB_TOKEN }}"})
        r = orchestra(env, "run", str(flow))
        assert r.returncode == 4 and "uses secret GITHUB_TOKEN" in r.stderr
        assert theirs.seen == [] and len(mine.seen) == 1
