"""Findings 1 (subflow reads), 4 (Unicode at every boundary) and 6 (recursive subflows,
questionable values) of issue 13. Hostile files are made by the tests: a FIFO, /dev/zero
and a symlink to it, a sparse file over the size cap, text with lone surrogates.

Unicode, boundary by boundary (the decision this tests):
  flow file       kept (loads and saves losslessly as escapes), reported by validate as
                  error invalid_text, so `run` refuses it with exit 2 before starting
  --input         bytes that are not UTF-8: refused, exit 2, naming the input and byte
  --input-file    not UTF-8, or a lone surrogate escape: refused, exit 2, naming the path
  model output    replaced by U+FFFD in the LLM client
  tool output     kept; the trace writes it as an escape (valid UTF-8, reads back equal),
                  what the CLI prints replaces it by U+FFFD
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from robusthelp import REPO, env, node, no_traceback, orchestra, template_flow, text, write_flow
from studio.core.document.flowfile import FlowFileError, SafeReadError, load_flow, read_regular_file
from studio.core.running import events as ev
from studio.core.running.events import Event, read_trace


def _limited() -> None:
    # an old build read /dev/zero until memory ran out: cap it so such a failure stays small
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def validate(tmp: Path, *files: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio.cli", "validate", "--json", *map(str, files)],
                          capture_output=True, cwd=REPO, env=env(tmp), timeout=timeout, preexec_fn=_limited)


def _hostile(tmp: Path, kind: str) -> Path:
    if kind == "fifo":
        p = tmp / "pipe.flow.json"
        os.mkfifo(p)
    elif kind == "dev-zero":
        p = Path("/dev/zero")
    elif kind == "symlink-to-dev-zero":
        p = tmp / "zero.flow.json"
        p.symlink_to("/dev/zero")
    elif kind == "symlink-to-fifo":
        os.mkfifo(tmp / "pipe2")
        p = tmp / "pipe2.flow.json"
        p.symlink_to(tmp / "pipe2")
    elif kind == "folder":
        p = tmp / "dir.flow.json"
        p.mkdir()
    else:  # a sparse file over the 64 MiB cap (no disk used)
        p = tmp / "huge.flow.json"
        with p.open("wb") as fh:
            fh.truncate(65 * 1024 * 1024)
    return p


KINDS = ["fifo", "dev-zero", "symlink-to-dev-zero", "symlink-to-fifo", "folder", "huge"]


@pytest.mark.parametrize("kind", KINDS)
def test_load_flow_refuses_what_is_not_a_regular_file_at_once(tmp_path, kind):
    with pytest.raises(FlowFileError, match="not a regular file|at most 64 MiB"):
        load_flow(_hostile(tmp_path, kind))


@pytest.mark.parametrize("kind", KINDS)
def test_a_subflow_pointing_at_a_hostile_file_is_reported_not_read(tmp_path, kind):
    target = _hostile(tmp_path, kind)
    flow = write_flow(tmp_path / "main.flow.json", [node("s", "subflow", path=str(target))])
    r = validate(tmp_path, flow)
    no_traceback(r)
    doc = json.loads(r.stdout)
    assert r.returncode == 1
    [p] = [p for p in doc["files"][0]["problems"] if p["code"] == "subflow_missing"]
    assert "not a regular file" in p["message"] or "at most 64 MiB" in p["message"]


def test_read_regular_file_caps_a_file_that_grows(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x" * 100)
    assert read_regular_file(p, 100) == b"x" * 100
    with pytest.raises(SafeReadError, match="at most"):
        read_regular_file(p, 99)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_input_file_that_is_not_a_regular_file_is_exit_2(tmp_path, kind):
    flow = template_flow(tmp_path / "f.flow.json", "hi {{ who }}")
    r = orchestra(tmp_path, "run", str(flow), "--input-file", str(_hostile(tmp_path, kind)), timeout=60)
    no_traceback(r)
    assert r.returncode == 2 and "not a regular file" in text(r.stderr)


# -- Unicode --------------------------------------------------------------------------------

def test_input_bytes_that_are_not_utf8_are_refused_naming_the_input(tmp_path):
    flow = template_flow(tmp_path / "f.flow.json", "hi {{ who }}")
    r = orchestra(tmp_path, "run", str(flow), b"--input", b"who=caf\xe9 \xff")
    no_traceback(r)
    assert r.returncode == 2
    err = text(r.stderr)
    assert "--input who" in err and "not valid UTF-8" in err and "0xe9" in err


@pytest.mark.parametrize("body, why", [
    (b'{"who": "caf\xe9"}', "not UTF-8"),
    (b'{"who": "x\\ud800y"}', "$.who"),
    (b'{"who": {"\\udfff": 1}}', "$.who"),
    (b'{"who": [1, ', "not valid JSON"),
    (b"[" * 100000, "nested too deeply"),
])
def test_input_file_with_invalid_text_is_refused_naming_the_place(tmp_path, body, why):
    flow = template_flow(tmp_path / "f.flow.json", "hi {{ who }}")
    (tmp_path / "in.json").write_bytes(body)
    r = orchestra(tmp_path, "run", str(flow), "--input-file", str(tmp_path / "in.json"))
    no_traceback(r)
    assert r.returncode == 2, text(r.stderr)
    assert why in text(r.stderr)


def test_a_flow_file_with_a_lone_surrogate_is_refused_before_the_run(tmp_path):
    flow = tmp_path / "s.flow.json"
    flow.write_text(json.dumps({"format": "orchestra-flow", "version": 1, "nodes": [
        {"id": "who", "type": "input", "params": {"name": "who"}},
        {"id": "t", "type": "template", "params": {"template": "bad \\ud800 {{ who }}"}},
        {"id": "out", "type": "output", "params": {"name": "o"}}],
        "edges": [{"from": "who.value", "to": "t.who"}, {"from": "t.text", "to": "out.value"}]}).replace("\\\\ud800", "\\ud800"))
    model = load_flow(flow)  # still loads (and saves) losslessly
    assert "\ud800" in model.nodes["t"].params["template"]
    r = validate(tmp_path, flow)
    [p] = [p for p in json.loads(r.stdout)["files"][0]["problems"] if p["code"] == "invalid_text"]
    assert p["node"] == "t" and "$.nodes[1].params.template" in p["message"]
    r = orchestra(tmp_path, "run", str(flow), "-i", "who=x")
    no_traceback(r)
    assert r.returncode == 2 and "not valid Unicode" in text(r.stderr)


def test_the_trace_keeps_a_lone_surrogate_as_valid_utf8_and_reads_it_back():
    e = Event(ev.NODE_FINISHED, "tool", (), 1.0, {"outputs": {"text": "a\ud800b", "k\udfff": 1}})
    line = ev.encode_event(e)
    line.decode("utf-8")  # valid UTF-8
    [back] = read_trace([line])
    assert back.data["outputs"] == {"text": "a\ud800b", "k\udfff": 1}


async def test_model_output_with_a_lone_surrogate_is_replaced(mock_openai):
    from studio.llm import complete
    from support.mock_openai import Reply

    for stream in (False, True):
        mock_openai.enqueue(Reply.text("fine \ud800 thanks"))
        c = await complete("openai/gpt-4o-mini", [{"role": "user", "content": "hi"}], api_base=mock_openai.base_url,
                           stream=stream)
        assert c.text == "fine \ufffd thanks"
        c.text.encode("utf-8")


# -- recursive subflows and questionable values (validate) ----------------------------------

def _sub(nid: str, path: str, **more) -> dict:
    return node(nid, "subflow", path=path, **more)


def test_recursive_subflows_are_found_with_their_chain(tmp_path):
    write_flow(tmp_path / "self.flow.json", [_sub("s", "self.flow.json")])
    write_flow(tmp_path / "a.flow.json", [_sub("to_b", "b.flow.json")])
    write_flow(tmp_path / "b.flow.json", [_sub("to_a", "a.flow.json")])
    inner = {"format": "orchestra-flow", "version": 1, "nodes": [_sub("back", "emb.flow.json")]}
    write_flow(tmp_path / "emb.flow.json", [_sub("s", "other.flow.json", flow=inner)])
    r = validate(tmp_path, *(tmp_path / f"{n}.flow.json" for n in ("self", "a", "emb")))
    files = json.loads(r.stdout)["files"]
    chains = [[p["message"] for p in f["problems"] if p["code"] == "subflow_recursive"] for f in files]
    assert chains[0] == ["the subflow includes itself: self.flow.json → self.flow.json"]
    assert chains[1] == ["the subflow includes itself: a.flow.json → b.flow.json → a.flow.json"]
    assert chains[2] == ["the subflow includes itself: emb.flow.json → s (embedded) → emb.flow.json"]
    assert r.returncode == 1


def test_running_a_recursive_flow_is_refused_up_front_with_the_chain(tmp_path):
    write_flow(tmp_path / "a.flow.json", [node("i", "input", name="x"), _sub("to_b", "b.flow.json"),
                                          node("o", "output", name="y")], [("i.value", "to_b.x"), ("to_b.y", "o.value")])
    write_flow(tmp_path / "b.flow.json", [node("i", "input", name="x"), _sub("to_a", "a.flow.json"),
                                          node("o", "output", name="y")], [("i.value", "to_a.x"), ("to_a.y", "o.value")])
    r = orchestra(tmp_path, "run", str(tmp_path / "a.flow.json"), "-i", "x=1")
    no_traceback(r)
    assert r.returncode == 2
    assert "a.flow.json → b.flow.json → a.flow.json" in text(r.stderr) and "nested more than" not in text(r.stderr)


def test_questionable_values_are_reported(tmp_path):
    flow = write_flow(tmp_path / "q.flow.json", [
        node("n", "input", name="n", type="number", default="abc"),
        node("m", "input", name="m", type="number", default="3"),
        node("b", "input", name="b", type="boolean", default=True),
        node("k", "input", name="k", type="number", default=2.5),
        node("o", "output", name="o")], [("n.value", "o.value")], tests="none", pricing=[1, 2])
    r = validate(tmp_path, flow)
    problems = json.loads(r.stdout)["files"][0]["problems"]
    got = {(p["code"], p["node"], p["severity"]) for p in problems if p["code"] in ("bad_tests", "bad_pricing", "bad_param")}
    assert got == {("bad_tests", None, "warning"), ("bad_pricing", None, "error"),
                   ("bad_param", "n", "error"), ("bad_param", "m", "error")}
    messages = " | ".join(p["message"] for p in problems)
    assert "default 'abc' is text, not a number" in messages and "'3' is text, not a number (write it without quotes)" in messages
    assert "pricing is a list ([1, 2])" in messages and "tests is text ('none')" in messages


@pytest.mark.parametrize("kind", ["fifo", "symlink-to-fifo", "folder"])
def test_every_command_refuses_a_hostile_flow_file_at_once(tmp_path, kind):
    target = str(_hostile(tmp_path, kind))
    for args in (("validate", target), ("run", target), ("export", target), ("test", target, "--mock")):
        r = orchestra(tmp_path, *args)
        no_traceback(r)
        assert r.returncode == 2, (args, text(r.stdout + r.stderr))
        assert "not a regular file" in text(r.stdout + r.stderr)
