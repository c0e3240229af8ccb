"""`orchestra validate` and `orchestra nodes` run for real, in subprocesses: exit
codes, readable text with node ids and hints, JSON, and never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
FLOWS = REPO / "tests" / "core" / "flows"
CONSOLE = shutil.which("orchestra", path=str(Path(sys.executable).parent))


def run(*args: str, console: bool = False) -> subprocess.CompletedProcess:
    cmd = [CONSOLE, *args] if console else [sys.executable, "-m", "studio.cli", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "60"}  # narrow: output must still not wrap
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO, env=env)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_clean_flow_exits_0(tmp_path: Path) -> None:
    r = run("validate", str(FLOWS / "structural.flow.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok" in r.stdout and "no problems" in r.stdout and r.stderr == ""


def test_the_console_script_is_installed_and_works() -> None:
    assert CONSOLE, "the orchestra console script is not installed (pip install -e .)"
    r = run("validate", str(FLOWS / "nested.flow.json"), console=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_warnings_alone_exit_0_but_are_printed(tmp_path: Path) -> None:
    path = write(tmp_path, "warn.flow.json", json.dumps({
        "format": "orchestra-flow", "version": 1,
        "nodes": [{"id": "i", "type": "input"}, {"id": "o", "type": "output"}, {"id": "t", "type": "template", "params": {"template": "{{ text }}"}}],
        "edges": [{"from": "i.value", "to": "o.value"}, {"from": "i.value", "to": "t.text"}]}))
    r = run("validate", path)
    assert r.returncode == 0
    assert "warning t: this node's result reaches no Output [unreachable_output]" in r.stdout
    assert "hint: Wire it towards an Output" in r.stdout


def test_errors_exit_1_with_node_ids_ports_and_hints() -> None:
    r = run("validate", str(FLOWS / "placeholders.flow.json"), str(FLOWS / "dangling.flow.json"))
    assert r.returncode == 1
    out = r.stdout
    assert "FAILED" in out and "placeholders.flow.json: 2 errors" in out
    assert "error   mood: node type 'acme.sentiment' is not installed (it comes from the package 'acme-nodes') [unknown_type]" in out
    assert "hint: Install the package" in out
    assert "ghost.out -> b.value" in out
    assert "\x1b[" not in out  # no colour codes in a pipe
    assert "Traceback" not in out + r.stderr
    lines = out.splitlines()
    assert all(len(line) > 0 for line in lines)


def test_unreadable_files_exit_2_without_a_traceback(tmp_path: Path) -> None:
    bad_json = write(tmp_path, "bad.flow.json", "{not json")
    wrong_shape = write(tmp_path, "shape.flow.json", '{"format": "orchestra-flow", "version": 1, "nodes": [{"id": 5}]}')
    not_utf8 = tmp_path / "bytes.flow.json"
    not_utf8.write_bytes(b"\xff\xfe\x00")
    r = run("validate", bad_json, wrong_shape, str(not_utf8), str(tmp_path / "missing.flow.json"), str(FLOWS / "placeholders.flow.json"))
    assert r.returncode == 2  # beats the 1 of the flow with errors
    assert "Traceback" not in r.stdout + r.stderr
    assert "bad.flow.json: $: not valid JSON" in r.stdout
    assert "shape.flow.json: $.nodes[0].id: node id must be a lowercase slug" in r.stdout
    assert "not UTF-8" in r.stdout and "cannot read the file" in r.stdout


def test_json_report(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.flow.json", "[]")
    r = run("validate", "--json", str(FLOWS / "dangling.flow.json"), str(FLOWS / "sub.flow.json"), bad)
    assert r.returncode == 2
    data = json.loads(r.stdout)
    assert data["exit_code"] == 2
    dangling, sub, unreadable = data["files"]
    assert dangling["errors"] == 2 and dangling["problems"][0]["code"] == "missing_node"
    assert set(dangling["problems"][0]) == {"severity", "code", "message", "node", "port", "hint"}
    assert sub == {"file": str(FLOWS / "sub.flow.json"), "readable": True, "name": "Polish", "nodes": 3,
                   "errors": 0, "warnings": 0, "problems": []}
    assert unreadable["readable"] is False and unreadable["error"]["json_path"] == "$"


def test_validate_needs_a_file() -> None:
    r = run("validate")
    assert r.returncode == 2 and "FLOW" in r.stderr  # argparse usage error, not a traceback


def test_nodes_catalog_text() -> None:
    r = run("nodes")
    assert r.returncode == 0, r.stderr
    for type_id in ("input", "output", "template", "branch", "merge", "loop", "fanout", "collect", "approval", "subflow"):
        assert f"\n{type_id}  " in r.stdout
    assert "max_iterations integer [1..1000] = 5 (required)" in r.stdout
    assert "in   items: list" in r.stdout


def test_nodes_catalog_json() -> None:
    r = run("nodes", "--json")
    assert r.returncode == 0, r.stderr
    types = {t["type"]: t for t in json.loads(r.stdout)["node_types"]}
    loop = types["loop"]
    assert [(p["name"], p["type"], p["required"]) for p in loop["inputs"]] == [("initial", "any", True), ("feedback", "any", False)]
    assert loop["params"]["properties"]["max_iterations"] == {
        "type": "integer", "minimum": 1, "maximum": 1000, "default": 5,
        "description": "Hard stop: the loop never runs more often than this."}
    assert "max_iterations" in loop["params"]["required"]
    assert types["template"]["dynamic_ports"] is True and types["template"]["inputs"][0]["name"] == "text"
    assert types["fanout"]["outputs"][0] == {"name": "item", "type": "any", "required": True, "multi": False,
                                             "description": "One element (per instance)."}
    branch_mode = types["branch"]["params"]["properties"]["mode"]
    assert branch_mode["enum"] == ["expression", "keyword", "regex", "model"]
