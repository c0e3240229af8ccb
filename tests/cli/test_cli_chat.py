"""`orchestra chat` as a person uses it: through a pipe, and on a slow model stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ASSISTANT = ROOT / "projects" / "assistant.flow.json"
TURNS = ["Hi, I'm Priya from the Acme workspace. We are closing our account next week.",
         "Could support restore just our workspace from a backup later?",
         "So until when can we still change our mind?"]


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "ORCHESTRA_DATA_DIR": str(tmp_path / "data"), "ORCHESTRA_CONFIG_DIR": str(tmp_path / "cfg"),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONUNBUFFERED": "1"}


def chat(env, *args, stdin: str, timeout: float = 180):
    return subprocess.run([sys.executable, "-m", "studio.cli", "chat", *map(str, args)], input=stdin, env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_three_turns_through_a_pipe_print_three_replies_and_a_total(env):
    out = chat(env, ASSISTANT, "--mock", stdin="\n".join(TURNS) + "\n/exit\n")
    assert out.returncode == 0, out.stderr
    replies = [line for line in out.stdout.splitlines() if line.startswith("assistant › ")]
    assert len(replies) == 3
    assert "30 days" in replies[0] and "35 days" in replies[1]
    assert "Priya" in replies[2] and "closing the Acme workspace next week" in replies[2]  # remembered turn 1
    # a mock chat paid nothing: each turn's cost and the total say they are estimates
    assert len(re.findall(r"· turn \d · \d+ in / \d+ out tokens · est\. \$\d.* total est\. \$\d", out.stdout)) == 3
    assert re.search(r"^total cost est\. \$0\.\d+ over 3 turn\(s\)", out.stdout, re.M)


def test_sessions_commands_and_housekeeping(env):
    out = chat(env, ASSISTANT, "--mock", "--session", "priya", stdin=TURNS[0] + "\n/new other\n" + TURNS[2]
               + "\n/sessions\n/switch priya\n/clear\n/sessions\n")
    assert out.returncode == 0, out.stderr  # end of input leaves like /exit
    replies = [line for line in out.stdout.splitlines() if line.startswith("assistant › ")]
    # "other" is a new conversation: its first answer is the first turn's, not the third's
    assert "Thanks, Priya" in replies[1]
    assert re.search(r"^\* other\s+1 turns", out.stdout, re.M) and re.search(r"^  priya\s+1 turns", out.stdout, re.M)
    assert "cleared session 'priya' (2 message(s))" in out.stderr
    # the second listing (after /clear) has "other" only
    assert len(re.findall(r"other\s+1 turns", out.stdout)) == 2 and len(re.findall(r"priya\s+\d+ turns", out.stdout)) == 1
    listed = chat(env, ASSISTANT, "--sessions", stdin="")
    assert listed.returncode == 0 and re.search(r"other\s+1 turns", listed.stdout)
    cleared = chat(env, ASSISTANT, "--session", "other", "--clear", stdin="")
    assert "cleared session 'other' (2 message(s))" in cleared.stdout
    old = chat(env, ASSISTANT, "--delete-older-than", "0", "--sessions", stdin="")
    assert old.returncode == 0 and "deleted" in old.stdout


def test_a_flow_that_cannot_chat_says_why(env, tmp_path):
    out = chat(env, ROOT / "projects" / "support_router.flow.json", "--mock", stdin="hi\n")
    assert out.returncode == 2 and "cannot chat" in out.stderr and "text port" in out.stderr
    bad = chat(env, ASSISTANT, "--mock", "--input", "nope=1", stdin="")
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_ctrl_c_stops_the_turn_and_the_chat_goes_on(env, tmp_path):
    from support.mock_openai import MockOpenAIThread

    flow = json.loads(ASSISTANT.read_text())
    for node in flow["nodes"]:
        if node["id"] == "assistant":
            node["params"].update(model="openai/gpt-4o-mini", tools=[], mock_responses=[])
    path = tmp_path / "slow.flow.json"
    path.write_text(json.dumps(flow))
    with MockOpenAIThread(token_delay=0.05) as server:
        env = {**env, "OPENAI_API_KEY": "sk" "-test-dummy-0123456789abcdef"}
        proc = subprocess.Popen([sys.executable, "-m", "studio.cli", "chat", str(path), "--api-base", server.base_url],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, cwd=ROOT)
        long_message = "please answer with a long reply " * 20
        proc.stdin.write(long_message + "\n")
        proc.stdin.flush()
        seen = ""
        deadline = time.monotonic() + 120
        while "echo:" not in seen and time.monotonic() < deadline:  # the reply has started streaming
            seen += os.read(proc.stdout.fileno(), 4096).decode()
        assert "echo:" in seen
        proc.send_signal(signal.SIGINT)
        proc.stdin.write("short\n/exit\n")
        proc.stdin.flush()
        rest, err = proc.communicate(timeout=120)
    out = seen + rest
    assert proc.returncode == 0, err
    assert "[stopped]" in out
    assert "assistant › echo: short" in out  # the next turn ran after the stop
    assert re.search(r"total cost (est\. )?\$\S+ over 2 turn\(s\)", out)
