"""Export (self-contained, no secrets), Mermaid diagrams, and flow test cases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core.document.commands import SetFlowInfo
from studio.core.errors import FlowFileError
from studio.core.running.executor import RunOptions, start_run
from studio.core.sharing.export import ExportError, export_document, export_text
from studio.core.document.flowfile import load_flow, loads, save_flow
from studio.core.sharing.flowtests import check, json_path, run_cases
from studio.core.sharing.mermaid import to_mermaid
from studio.core.running.plan import compile_plan
from tests.support.flows import Flow

REPO = Path(__file__).resolve().parents[2]


def _with_subflow(tmp_path: Path) -> Path:
    sub = Flow("shout")
    sub.node("inp", "input", name="text", type="text")
    sub.node("up", "template", template="{{ t | upper }}!")
    sub.node("out", "output", name="loud")
    sub.wire("inp.value", "up.t")
    sub.wire("up.text", "out.value")
    (tmp_path / "lib").mkdir()
    save_flow(sub.model, tmp_path / "lib" / "shout.flow.json")
    main = Flow("main flow")
    main.model.base_dir = tmp_path
    main.io("text")
    main.node("call", "subflow", path="lib/shout.flow.json")
    main.wire("inp.value", "call.text")
    main.wire("call.loud", "out.value")
    save_flow(main.model, tmp_path / "main.flow.json")
    return tmp_path / "main.flow.json"


async def test_export_embeds_subflows_and_runs_the_same_elsewhere(tmp_path):
    path = _with_subflow(tmp_path)
    model = load_flow(path)
    text = export_text(model)
    doc = json.loads(text)
    call = next(n for n in doc["nodes"] if n["id"] == "call")
    assert call["params"]["flow"]["name"] == "shout"
    assert doc["requires"]["node_types"]["subflow"] == "orchestra-studio"
    assert "template" in doc["requires"]["node_types"]  # types used inside the subflow count too
    # open the export somewhere the subflow file does not exist
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "shared.flow.json").write_text(text)
    shared = load_flow(elsewhere / "shared.flow.json")
    original = await start_run(model, RunOptions(inputs={"x": "hi"}, trace=None)).wait()
    copy = await start_run(shared, RunOptions(inputs={"x": "hi"}, trace=None)).wait()
    assert original.outputs == copy.outputs == {"result": "HI!"}
    assert export_text(shared) == text  # exporting an export changes nothing


def test_export_refuses_a_file_with_a_key_in_it(tmp_path):
    f = Flow()
    f.io("text")
    f.node("t", "template", template="use key sk" "-live-abcdef1234567890 please {{ x }}")
    f.wire("inp.value", "t.x")
    f.wire("t.text", "out.value")
    with pytest.raises(ExportError, match=r"\$\.nodes\[\d\]\.params\.template"):
        export_document(f.model, secrets=["sk" "-live-abcdef1234567890"])
    # a key this process does not know is refused too: it is key-shaped (issue 12)
    with pytest.raises(ExportError, match=r"OpenAI-style API key at \$\.nodes\[\d\]\.params\.template"):
        export_document(f.model, secrets=["sk" "-other-key-000000"])


def test_export_of_a_self_including_subflow_is_refused(tmp_path):
    f = Flow("loop")
    f.model.base_dir = tmp_path
    f.io("text")
    f.node("me", "subflow", path="self.flow.json")
    save_flow(f.model, tmp_path / "self.flow.json")
    with pytest.raises((ExportError, FlowFileError)):
        export_document(load_flow(tmp_path / "self.flow.json"))


def test_mermaid_nests_regions_and_labels_routes():
    f = Flow("m")
    f.io("list")
    f.node("fo", "fanout")
    f.node("route", "branch", cases=[{"name": "keep", "when": "value > 1"}])
    f.node("work", "t_math", op="inc")
    f.node("col", "collect")
    f.wire("inp.value", "fo.items")
    f.wire("fo.item", "route.value")
    f.wire("route.keep", "work.x")
    f.wire("work.x", "col.item")
    f.wire("col.results", "out.value")
    text = to_mermaid(f.model)
    assert text.startswith("flowchart LR\n")
    assert 'subgraph fo_scope["for each item of fo"]' in text
    body = text.split("subgraph fo_scope")[1].split("end")[0]
    assert "route{" in body and "work[" in body and "col" not in body.split("\n")[1]
    assert "route -->|keep| work" in text


def test_json_path_and_checks():
    doc = {"items": [{"title": "Intro"}], "n": 2}
    assert json_path(doc, "$.items[0].title") == "Intro"
    assert check({"output": "r", "json_path": "$.items[0].title", "equals": "Intro"}, {"r": doc}).ok
    assert not check({"output": "r", "json_path": "$.items[3].title", "equals": "x"}, {"r": doc}).ok
    assert check({"output": "r", "contains": "ell"}, {"r": "hello"}).ok
    assert check({"output": "r", "regex": r"^h\w+o$"}, {"r": "hello"}).ok
    bad = check({"output": "missing", "equals": 1}, {"r": 1})
    assert not bad.ok and "was not produced" in bad.message


async def test_flow_cases_pass_and_fail_with_reasons():
    f = Flow()
    f.io("text")
    f.node("t", "template", template="Dear {{ x }},")
    f.wire("inp.value", "t.x")
    f.wire("t.text", "out.value")
    f.stack.push(SetFlowInfo(tests=[
        {"name": "greets", "inputs": {"x": "Ada"}, "expect": [{"output": "result", "equals": "Dear Ada,"}]},
        {"name": "wrong", "inputs": {"x": "Bob"}, "expect": [{"output": "result", "contains": "Ada"}]},
    ]))
    results = await run_cases(compile_plan(f.model), f.model.meta["tests"])
    assert [r.ok for r in results] == [True, False]
    assert 'does not contain "Ada"' in results[1].checks[0].message


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_cli_export_and_mermaid_and_test(tmp_path):
    path = _with_subflow(tmp_path)
    model = load_flow(path)
    model._set_flow_fields(tests=[{"name": "shouts", "inputs": {"x": "hey"}, "expect": [{"output": "result", "equals": "HEY!"}]}])
    save_flow(model, path)
    out = tmp_path / "out.flow.json"
    r = _cli("export", str(path), "-o", str(out), env={"ORCHESTRA_CONFIG_DIR": str(tmp_path / "cfg")})
    assert r.returncode == 0, r.stderr
    assert loads(out.read_bytes()).name == "main flow"
    r = _cli("export", str(path), "--mermaid")
    assert r.returncode == 0 and r.stdout.startswith("flowchart LR")
    r = _cli("test", str(path), "--mock", env={"ORCHESTRA_DATA_DIR": str(tmp_path / "d")})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS  shouts" in r.stdout and "1 passed, 0 failed" in r.stdout
    r = _cli("export", str(tmp_path / "nope.flow.json"))
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_cli_test_spells_values_as_json(tmp_path):
    """`orchestra test` shows what a case got and expected in JSON spelling: null, true,
    "text", {"a": null} -- never Python's None, True or {'a': None}."""
    f = Flow("nulls")
    f.io("json")
    f.wire("inp.value", "out.value")
    f.model._set_flow_fields(tests=[
        {"name": "got null", "inputs": {"x": None}, "expect": [{"output": "result", "equals": {"a": True}}]},
        {"name": "wants null", "inputs": {"x": {"a": None}}, "expect": [{"output": "result", "equals": None}]},
        {"name": "holds null", "inputs": {"x": {"a": None}}, "expect": [{"output": "result", "contains": '"a": null'}]},
    ])
    path = tmp_path / "nulls.flow.json"
    save_flow(f.model, path)
    r = _cli("test", str(path), "--mock", env={"ORCHESTRA_DATA_DIR": str(tmp_path / "d")})
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [line.strip() for line in r.stdout.splitlines()]
    assert '✗ result is null, expected {"a": true}' in lines, r.stdout
    assert '✗ result is {"a": null}, expected null' in lines, r.stdout
    assert '✓ result contains "\\"a\\": null"' in lines, r.stdout
    assert "None" not in r.stdout and "True" not in r.stdout, r.stdout
    assert "2 passed, 1 failed" not in r.stdout and "1 passed, 2 failed" in r.stdout
