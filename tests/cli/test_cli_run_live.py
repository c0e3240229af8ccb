"""`orchestra run FLOW --api-base URL` against the loopback server, through the real CLI:
streamed tokens show up as they arrive, and the cost column is gpt-4o-mini's real price
for the usage the server reported.

The CLI runs in a subprocess (as a user runs it); the server runs in a thread of the test
process (tests/support/mock_openai.py), streaming one word every TOKEN_DELAY seconds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core.document.commands import AddNode, Connect, UndoStack
from studio.core.document.flowfile import save_flow
from studio.core.document.model import FlowModel
from support.mock_openai import MockOpenAIThread, Reply

REPO = Path(__file__).resolve().parents[2]
REPLY = "Amber leaves drift over the quiet river"
USAGE = (1234, 567)  # what the server reports: (prompt_tokens, completion_tokens)
TOKEN_DELAY = 0.3  # between streamed words: the CLI prints what it has every 200 ms
KEY = "sk" "-live-view-test-0123456789abcdef"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def gpt_4o_mini_cost(tokens_in: int, tokens_out: int) -> float:
    """USD from litellm's own price map (the one the product uses), not a number typed in here."""
    from studio.llm.runtime import litellm

    info = litellm().model_cost["gpt-4o-mini"]
    return tokens_in * info["input_cost_per_token"] + tokens_out * info["output_cost_per_token"]


@pytest.fixture
def server():
    with MockOpenAIThread(token_delay=TOKEN_DELAY) as s:
        yield s


@pytest.fixture
def flow(tmp_path) -> Path:
    m = FlowModel("live view")
    s = UndoStack(m)
    for c in (AddNode("input", node_id="topic", params={"name": "topic", "type": "text"}),
              AddNode("llm", node_id="write", params={"model": "gpt-4o-mini", "prompt": "A short line about {{ topic }}"}),
              AddNode("output", node_id="out", params={"name": "line"}),
              Connect("topic", "value", "write", "topic"), Connect("write", "text", "out", "value")):
        s.push(c)
    path = tmp_path / "live.flow.json"
    save_flow(m, path)
    return path


def orchestra(*args: str, tmp_path: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR")}
    env.update({"ORCHESTRA_DATA_DIR": str(tmp_path / "data"), "ORCHESTRA_CONFIG_DIR": str(tmp_path / "config"),
                "OPENAI_API_KEY": KEY, **(env_extra or {})})
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=120)


def table_row(text: str, node: str) -> list[str]:
    """The cells of ``node``'s row in the per-node table."""
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)]
        if len(cells) > 3 and node in cells:
            return cells
    raise AssertionError(f"no table row for {node!r} in:\n{text}")


@pytest.mark.parametrize("env_extra", [{}, {"FORCE_COLOR": "1"}], ids=["pipe", "pipe-with-FORCE_COLOR"])
def test_streamed_tokens_and_real_cost_when_output_is_not_a_terminal(server, flow, tmp_path, env_extra):
    server.enqueue(Reply.text(REPLY, usage=USAGE))
    r = orchestra("run", str(flow), "--api-base", server.base_url, "--input", "topic=autumn",
                  tmp_path=tmp_path, env_extra=env_extra)
    assert r.returncode == 0, r.stderr
    err = ANSI.sub("", r.stderr)

    # the call went to the server, streamed, with usage asked for
    assert server.count == 1
    body = server.requests[0].body
    assert body["model"] == "gpt-4o-mini" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert server.requests[0].authorization == f"Bearer {KEY}"

    # streamed tokens: "  write │ text" lines printed while the reply arrives, before the node finishes
    lines = err.splitlines()
    token_lines = [i for i, ln in enumerate(lines) if ln.startswith("  write │ ")]
    finished = next(i for i, ln in enumerate(lines) if ln.startswith("✓ write"))
    assert len(token_lines) >= 3, err  # several pieces as they came, not one block at the end
    assert all(i < finished for i in token_lines), err
    streamed = " ".join(lines[i].split("│", 1)[1].strip() for i in token_lines)
    assert " ".join(streamed.split()) == REPLY
    assert "\x1b[" not in r.stderr or env_extra  # no cursor tricks in a log (colour only when forced)
    assert "\x1b[2K" not in r.stderr and "\x1b[1A" not in r.stderr  # never redrawn in place

    # the result (outputs, table, totals) is on standard output, so `> result.txt` keeps it
    out = ANSI.sub("", r.stdout)
    assert "Per node" not in err and REPLY in out
    lines = out.splitlines()
    # cost: gpt-4o-mini's price from litellm's map for the usage the server reported
    usd = gpt_4o_mini_cost(*USAGE)
    assert 0.0001 < usd < 0.01
    shown = f"${usd:.6f}"  # the view shows 6 decimals below one cent
    row = table_row(out, "write")
    assert shown in row, row
    assert str(USAGE[0]) in row and str(USAGE[1]) in row, row
    status = next(ln for ln in lines if ln.startswith("succeeded in "))
    assert status.endswith(f"tokens {USAGE[0]} in / {USAGE[1]} out · cost {shown}"), status
    assert lines[-1].startswith("trace: ") and lines[-1].endswith(".jsonl")  # one line, not wrapped
    assert REPLY in out  # the output itself


def test_json_document_has_the_exact_cost(server, flow, tmp_path):
    server.enqueue(Reply.text(REPLY, usage=USAGE))
    r = orchestra("run", str(flow), "--api-base", server.base_url, "--input", "topic=autumn", "--json",
                  tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    usd = gpt_4o_mini_cost(*USAGE)
    assert doc["outputs"] == {"line": REPLY}
    node = doc["nodes"]["write"]
    assert (node["tokens_in"], node["tokens_out"]) == USAGE
    assert node["cost_usd"] == pytest.approx(usd, rel=1e-6)
    assert doc["totals"]["cost_usd"] == pytest.approx(usd, rel=1e-6)
    events = [json.loads(x) for x in Path(doc["trace"]).read_text().splitlines()]
    tokens = [e["data"]["text"] for e in events if e["type"] == "node_progress" and e["data"].get("kind") == "token"]
    assert "".join(tokens) == REPLY and len(tokens) == len(REPLY.split())


def test_live_table_on_a_terminal_shows_the_text_so_far(server, flow, tmp_path):
    """TTY_COMPATIBLE/TTY_INTERACTIVE (rich's variables) stand in for a terminal here."""
    server.enqueue(Reply.text(REPLY, usage=USAGE))
    r = orchestra("run", str(flow), "--api-base", server.base_url, "--input", "topic=autumn", tmp_path=tmp_path,
                  env_extra={"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "120"})
    assert r.returncode == 0, r.stderr
    frames = ANSI.sub("\n", r.stderr)
    live_rows = [ln for ln in frames.splitlines() if ln.startswith("write") and "running" in ln]
    assert live_rows, r.stderr
    # while the reply streams, the row's "output so far" grows word by word
    seen = [ln.split("running", 1)[1].strip() for ln in live_rows]
    assert any(s and REPLY.startswith(s) and s != REPLY for s in seen), seen
    assert "  write │ " not in frames  # the live table replaces the plain token lines
    usd = gpt_4o_mini_cost(*USAGE)
    assert f"${usd:.6f}" in table_row(ANSI.sub("", r.stdout), "write")  # the final table: standard output
