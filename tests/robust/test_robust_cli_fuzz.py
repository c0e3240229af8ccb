"""Issue 13 acceptance: hypothesis over what the CLI reads -- --input values, --input-file
bytes, flow file bytes -- with `validate`, `run --mock` and `export`: never a traceback
(an exception escaping ``main``), never a hang (hypothesis' deadline: each case within
a few seconds), exit codes only 0/1/2/3.

In-process (``studio.cli.main.main``) so hundreds of cases fit in a test; a separate test
passes real non-UTF-8 argv bytes through a subprocess.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from studio.cli.main import main
from studio.core.catalogue.templates import allow_renders

ALLOWED = {0, 1, 2, 3}
FUZZ = settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.too_slow], database=None)

GOOD = {"format": "orchestra-flow", "version": 1, "name": "fuzz", "nodes": [
    {"id": "who", "type": "input", "params": {"name": "who"}},
    {"id": "n", "type": "input", "params": {"name": "n", "type": "number", "default": 2}},
    {"id": "t", "type": "template", "params": {"template": "Hello {{ who }} x{{ n }}"}},
    {"id": "out", "type": "output", "params": {"name": "o"}}],
    "edges": [{"from": "who.value", "to": "t.who"}, {"from": "n.value", "to": "t.n"}, {"from": "t.text", "to": "out.value"}]}
GOOD_BYTES = json.dumps(GOOD).encode()

# text with the characters that break things: lone surrogates, NUL, controls, RTL marks
nasty_text = st.lists(st.one_of(st.text(max_size=8), st.sampled_from(["\ud800", "\udcff", "\x00", "\u202e", "{{", "}}", "{%", "="])),
                      max_size=8).map("".join)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | nasty_text,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(nasty_text, inner, max_size=4),
                           max_leaves=12)


def cli(*argv: str) -> tuple[int, str]:
    """``orchestra ARGV`` in this process: (exit code, stderr). An escaping exception fails the test."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse and our own SystemExit(code) paths
            code = exc.code if isinstance(exc.code, int) else 2
    allow_renders()
    assert "Traceback" not in err.getvalue() + out.getvalue()
    return code, err.getvalue()


def _mutate(data: bytes, cuts: list[tuple[int, bytes]]) -> bytes:
    b = bytearray(data)
    for at, piece in cuts:
        at %= max(1, len(b))
        b[at:at + len(piece)] = piece
    return bytes(b)


@contextlib.contextmanager
def _folder():
    with tempfile.TemporaryDirectory() as tmp:
        old = {k: os.environ.get(k) for k in ("ORCHESTRA_DATA_DIR", "ORCHESTRA_CONFIG_DIR")}
        os.environ["ORCHESTRA_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["ORCHESTRA_CONFIG_DIR"] = str(Path(tmp) / "config")
        try:
            yield Path(tmp)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@FUZZ
@given(who=nasty_text, n=nasty_text, extra=st.lists(nasty_text, max_size=2))
def test_fuzz_input_values(who, n, extra):
    with _folder() as tmp:
        flow = tmp / "f.flow.json"
        flow.write_bytes(GOOD_BYTES)
        args = ["run", str(flow), "--mock", "--trace", str(tmp / "t.jsonl"), "--input", f"who={who}", "--input", f"n={n}"]
        for e in extra:
            args += ["--input", e]
        code, _ = cli(*args)
        assert code in ALLOWED


@FUZZ
@given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v, allow_nan=True).encode("utf-8", "surrogatepass")),
                      st.dictionaries(st.sampled_from(["who", "n", "zzz", "\ud800"]), json_values, max_size=3)
                      .map(lambda d: json.dumps(d).encode())))
def test_fuzz_input_file(body):
    with _folder() as tmp:
        flow = tmp / "f.flow.json"
        flow.write_bytes(GOOD_BYTES)
        (tmp / "in.json").write_bytes(body)
        code, _ = cli("run", str(flow), "--mock", "--trace", str(tmp / "t.jsonl"), "--input-file", str(tmp / "in.json"))
        assert code in ALLOWED


@FUZZ
@given(body=st.one_of(
    st.binary(max_size=400),
    st.lists(st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=8)), max_size=4).map(lambda c: _mutate(GOOD_BYTES, c)),
    json_values.map(lambda v: json.dumps({**GOOD, "name": v, "tests": v, "pricing": v}).encode("utf-8", "surrogatepass")),
    st.tuples(nasty_text, json_values).map(lambda tv: json.dumps({**GOOD, "nodes": GOOD["nodes"][:2] + [
        {"id": "t", "type": "template", "params": {"template": tv[0] + " {{ who }}", "x": tv[1]}}] + GOOD["nodes"][3:]})
        .encode("utf-8", "surrogatepass")),
))
def test_fuzz_flow_file_bytes(body):
    with _folder() as tmp:
        flow = tmp / "f.flow.json"
        flow.write_bytes(body)
        for args in (("validate", str(flow)), ("validate", "--json", str(flow)),
                     ("run", str(flow), "--mock", "-i", "who=x", "--trace", str(tmp / "t.jsonl")),
                     ("export", str(flow), "-o", str(tmp / "out.json"))):
            code, _ = cli(*args)
            assert code in ALLOWED, (args, code)


def test_non_utf8_argv_bytes_through_a_real_process(tmp_path):
    from robusthelp import no_traceback, orchestra

    flow = tmp_path / "f.flow.json"
    flow.write_bytes(GOOD_BYTES)
    for raw in (b"who=\xff", b"\xfe\xff=x", b"who=\xed\xa0\x80", b"who"):
        r = orchestra(tmp_path, "run", str(flow), "--mock", b"--input", raw)
        no_traceback(r)
        assert r.returncode == 2
    r = orchestra(tmp_path, "validate", str(flow).encode() + b"\xff")
    no_traceback(r)
    assert r.returncode == 2
