"""What a received flow needs before it runs: missing node types, the flow's own tool code."""

from __future__ import annotations

import json
from pathlib import Path

from studio.core.sharing.export import export_text
from studio.core.document.flowfile import load_flow, loads, save_flow
from studio.core.sharing.needs import MissingType, missing_types
from studio.tools.trust import trust_code
from studio.tools import trust
from studio.tools.flow_code import flow_code, untrusted_code
from tests.support.flows import Flow

TOOL = '''"""Loud."""
PARAMETERS = {"type": "object", "properties": {"text": {"type": "string"}}}
raise SystemExit("this module must never be imported by these checks")
'''


def _with_unknown(folder: Path, package: str | None = "acme-nodes", version: str | None = "1.4.2") -> Path:
    f = Flow("received")
    f.node("inp", "input", name="x", type="text")
    f.node("out", "output", name="result")
    path = folder / "received.flow.json"
    folder.mkdir(parents=True, exist_ok=True)
    save_flow(f.model, path)
    doc = json.loads(path.read_text())
    doc["nodes"] += [{"id": "a", "type": "acme.translate", "params": {}}, {"id": "b", "type": "acme.translate", "params": {}},
                     {"id": "c", "type": "other.thing", "params": {}}]
    if package:
        doc["requires"]["node_types"]["acme.translate"] = package
    if version:
        doc["requires"]["packages"][package] = version
    path.write_text(json.dumps(doc))
    return path


def test_missing_types_name_their_package_and_version(tmp_path):
    model = load_flow(_with_unknown(tmp_path))
    found = missing_types(model)
    assert found == [MissingType("acme.translate", "acme-nodes", "1.4.2", ("a", "b")),
                     MissingType("other.thing", None, None, ("c",))]
    assert found[0].install_hint() == 'pip install "acme-nodes==1.4.2"'
    assert "acme-nodes 1.4.2" in found[0].describe() and "used by a, b" in found[0].describe()
    assert found[1].install_hint() is None and "does not name" in found[1].describe()
    unversioned = missing_types(load_flow(_with_unknown(tmp_path / "u", version=None)))[0]
    assert unversioned.install_hint() == "pip install acme-nodes"
    clean = Flow()
    clean.io()
    assert missing_types(clean.model) == []


def test_missing_types_inside_subflows_embedded_or_by_path(tmp_path):
    _with_unknown(tmp_path / "lib")
    main = Flow("main")
    main.model.base_dir = tmp_path
    main.node("call", "subflow", path="lib/received.flow.json")
    save_flow(main.model, tmp_path / "main.flow.json")
    by_path = missing_types(load_flow(tmp_path / "main.flow.json"))
    assert [(m.type_id, m.package, m.nodes) for m in by_path] == [
        ("acme.translate", "acme-nodes", ("call › a", "call › b")), ("other.thing", None, ("call › c",))]
    # an export embeds the subflow and drops its own requires: the outer file's names the package
    shared = loads(export_text(load_flow(tmp_path / "main.flow.json")))
    assert [(m.type_id, m.package, m.version) for m in missing_types(shared)][0] == ("acme.translate", "acme-nodes", "1.4.2")


def test_flow_code_lists_only_the_flows_own_tools_without_importing_them(tmp_path, user_config):
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "loud.py").write_text(TOOL)
    (tmp_path / "tools" / "run_python.py").write_text(TOOL)  # cannot shadow the built-in
    f = Flow("tools")
    f.model.base_dir = tmp_path
    f.node("t1", "tool", tool="loud")
    f.node("t2", "tool", tool="run_python")
    f.node("t3", "tool", tool="calculator")
    f.node("t4", "tool", tool="not_there")
    f.node("ag", "agent", model="gpt-4o-mini", tools=["calculator", "loud"], max_steps=2)
    code = flow_code(f.model)
    assert [(c.node, c.tool) for c in code] == [("ag", "loud"), ("t1", "loud")]
    assert {c.folder for c in code} == {tmp_path.resolve()} and code[0].path == (tmp_path / "tools" / "loud.py").resolve()
    assert untrusted_code(f.model) == code
    trust(tmp_path)
    assert untrusted_code(f.model) == [] and flow_code(f.model) == code
    f.model.base_dir = None  # an unsaved flow has no folder, so no code beside it
    assert flow_code(f.model) == []


def test_flow_code_of_a_subflow_in_another_folder(tmp_path, user_config):
    lib = tmp_path / "lib"
    (lib / "tools").mkdir(parents=True)
    (lib / "tools" / "loud.py").write_text(TOOL)
    sub = Flow("sub")
    sub.model.base_dir = lib
    sub.node("t", "tool", tool="loud")
    save_flow(sub.model, lib / "sub.flow.json")
    main = Flow("main")
    main.model.base_dir = tmp_path
    main.node("call", "subflow", path="lib/sub.flow.json")
    code = flow_code(main.model)
    assert [(c.node, c.folder) for c in code] == [("call › t", lib.resolve())]
    trust(tmp_path)  # trust is by content, never by location: the parent folder's trust covers no subfolder
    assert untrusted_code(main.model) == code
    trust_code(code)  # what was reviewed, recorded for the folder that holds it
    assert untrusted_code(main.model) == []
