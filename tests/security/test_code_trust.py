"""Finding 1 and 5: a flow's code runs only after the person trusts exactly that code, and the
CLI can review and trust it. Everything through the real ``orchestra`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.security.hostile import PARENT_KEY, env_for, orchestra, python_flow

REPO = Path(__file__).resolve().parents[2]


def steal_code(store: Path, proof: Path) -> str:
    """What the issue's attacker did: read the parent's environment, rewrite the trust store."""
    return f"""
import glob, json, os
found = []
for p in glob.glob('/proc/*/environ') + glob.glob('/proc/*/task/*/environ'):
    try:
        if b'PARENTSECRET' in open(p, 'rb').read():
            found.append(p)
    except OSError:
        pass
if any('PARENTSECRET' in v for v in os.environ.values()):
    found.append('own environment')
wrote = []
for target in ({str(store)!r}, os.path.expanduser('~/.config/orchestra-studio/trusted_folders.json')):
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'w') as fh:
            fh.write('{{"version": 2, "folders": [{{"path": "/", "code": {{}}}}]}}')
        wrote.append(target)
    except OSError as exc:
        pass
try:
    open({str(proof)!r}, 'w').write('ran')
except OSError:
    pass
print(json.dumps({{"found": found, "wrote": wrote}}))
"""


def test_untrusted_run_python_does_not_run_and_the_cli_names_orchestra_trust(tmp_path):
    env = env_for(tmp_path)
    proof = tmp_path / "flows" / "ran.txt"
    flow = python_flow(tmp_path / "flows" / "hostile.flow.json", steal_code(tmp_path / "config" / "trusted_folders.json", proof))
    r = orchestra(env, "run", str(flow), "--mock")
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert f"orchestra trust {flow}" in r.stderr and "run_python code (node steal)" in r.stderr, r.stderr
    assert "Nothing ran" in r.stderr and not proof.exists()
    assert not (tmp_path / "config" / "trusted_folders.json").exists()
    # --json too: the same refusal, nothing on standard output that looks like a result
    r = orchestra(env, "run", str(flow), "--mock", "--json")
    assert r.returncode == 4 and r.stdout == "" and not proof.exists()


def test_trust_shows_the_code_asks_and_then_the_code_runs_without_reaching_the_parent(tmp_path):
    env = env_for(tmp_path)
    store = tmp_path / "config" / "trusted_folders.json"
    flow = python_flow(tmp_path / "flows" / "hostile.flow.json", steal_code(store, tmp_path / "flows" / "ran.txt"))

    # no terminal and no --yes: it shows the code, refuses to guess, trusts nothing
    r = orchestra(env, "trust", str(flow), stdin="")
    assert r.returncode == 1 and "glob.glob('/proc/*/environ')" in r.stdout and "--yes" in r.stderr
    assert not store.exists()

    r = orchestra(env, "trust", str(flow), "--yes")
    assert r.returncode == 0, r.stderr
    assert "glob.glob('/proc/*/environ')" in r.stdout and f"trusted in {flow.parent.resolve()}" in r.stdout
    before = store.read_bytes()
    listed = orchestra(env, "trust", "--list")
    assert str(flow.parent.resolve()) in listed.stdout and "run_python code · node steal" in listed.stdout

    r = orchestra(env, "run", str(flow), "--mock", "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)["outputs"]["result"]
    assert result["exit_code"] == 0, result["stderr"]
    seen = json.loads(result["stdout"])
    assert seen["found"] == []  # neither /proc/<orchestra>/environ nor its own environment held the key
    assert store.read_bytes() == before  # the real trust store is untouched...
    assert not (tmp_path / "home" / ".config" / "orchestra-studio").exists()  # ...and none was planted
    assert PARENT_KEY not in r.stdout + r.stderr
    assert not (tmp_path / "flows" / "ran.txt").exists()  # the flow's folder is read-only to the sandbox


def test_changed_code_must_be_trusted_again_and_revoke_forgets(tmp_path):
    env = env_for(tmp_path)
    flow = python_flow(tmp_path / "f" / "a.flow.json", "print('one')")
    assert orchestra(env, "trust", str(flow), "--yes").returncode == 0
    r = orchestra(env, "run", str(flow), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["outputs"]["result"]["stdout"] == "one\n"

    python_flow(flow, "print('two')")  # the author sends an update: new code, same file, same folder
    r = orchestra(env, "run", str(flow), "--json")
    assert r.returncode == 4 and "orchestra trust" in r.stderr

    # a second flow dropped into the trusted folder is not trusted by location
    other = python_flow(tmp_path / "f" / "b.flow.json", "print('other')")
    assert orchestra(env, "run", str(other)).returncode == 4

    assert orchestra(env, "trust", "--revoke", str(flow.parent)).returncode == 0
    python_flow(flow, "print('one')")
    assert orchestra(env, "run", str(flow)).returncode == 4  # revoked: even the reviewed code is refused


def test_flow_tool_code_needs_trust_of_its_exact_bytes(tmp_path):
    env = env_for(tmp_path)
    folder = tmp_path / "received"
    (folder / "tools").mkdir(parents=True)
    tool = folder / "tools" / "shout.py"
    tool.write_text('"""Shout."""\nPARAMETERS = {"type": "object", "properties": {"text": {"type": "string"}}}\n'
                    "def run(text):\n    return text.upper()\n")
    doc = {"format": "orchestra-flow", "version": 1, "name": "t",
           "nodes": [{"id": "s", "type": "tool", "params": {"tool": "shout", "arguments": {"text": "hi"}}},
                     {"id": "o", "type": "output", "params": {"name": "r"}}],
           "edges": [{"from": "s.result", "to": "o.value"}]}
    flow = folder / "t.flow.json"
    flow.write_text(json.dumps(doc))
    r = orchestra(env, "run", str(flow), "--json")
    assert r.returncode == 4 and "tools/shout.py (node s)" in r.stderr
    r = orchestra(env, "trust", str(folder), "--yes")  # a folder: its flows' code and its tools/*.py
    assert r.returncode == 0 and "return text.upper()" in r.stdout
    r = orchestra(env, "run", str(flow), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["outputs"]["r"] == "HI"
    tool.write_text(tool.read_text().replace("upper", "lower"))
    assert orchestra(env, "run", str(flow), "--json").returncode == 4


def test_a_model_written_run_python_step_needs_trust_too(tmp_path):
    """code_fixer's shape: a model writes the code, a wire carries it to run_python."""
    env = env_for(tmp_path)
    doc = json.loads((REPO / "projects" / "code_fixer.flow.json").read_text())
    flow = tmp_path / "mine" / "fixer.flow.json"
    flow.parent.mkdir()
    for node in doc["nodes"]:
        if node["id"] == "write":  # one word changed: no longer the shipped example
            node["params"]["prompt"] = node["params"].get("prompt", "") + " Be brief."
    flow.write_text(json.dumps(doc))
    r = orchestra(env, "run", str(flow), "--mock")
    assert r.returncode == 4 and "Python written at run time" in r.stderr and "(node run)" in r.stderr
    r = orchestra(env, "trust", str(flow), "--yes")
    assert r.returncode == 0 and "write (llm)" in r.stdout  # what produces the code is shown
    r = orchestra(env, "run", str(flow), "--mock", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["outputs"]["attempts"] == 2


@pytest.mark.parametrize("name", ["code_fixer"])
def test_the_shipped_examples_run_as_shipped(tmp_path, name):
    env = env_for(tmp_path)
    r = orchestra(env, "run", str(REPO / "projects" / f"{name}.flow.json"), "--mock", "--json")
    assert r.returncode == 0, r.stderr


def test_the_shipped_manifest_matches_the_examples():
    """Editing an example's code without regenerating shipped_code.json would make it ask."""
    from studio.tools.flow_code import shipped_manifest

    shipped = json.loads((REPO / "studio" / "tools" / "shipped_code.json").read_text())
    assert shipped["digests"] == shipped_manifest(REPO / "projects")["digests"] != []


def test_an_agent_offered_run_python_counts_as_model_written_code(tmp_path):
    from studio.core.document.flowfile import load_flow
    from studio.tools.flow_code import flow_code

    doc = {"format": "orchestra-flow", "version": 1, "name": "agent",
           "nodes": [{"id": "helper", "type": "agent", "params": {"model": "gpt-4o-mini", "prompt": "Compute 2+2",
                                                                  "tools": ["calculator", "run_python"], "max_steps": 4}}],
           "edges": []}
    path = tmp_path / "a" / "agent.flow.json"
    path.parent.mkdir()
    path.write_text(json.dumps(doc))
    items = flow_code(load_flow(path))
    assert [(c.node, c.kind) for c in items] == [("helper", "model_python")]
    assert "Compute 2+2" in items[0].code  # what feeds the model is what the person reviews
    r = orchestra(env_for(tmp_path), "run", str(path), "--mock")
    assert r.returncode == 4 and "(node helper)" in r.stderr
