"""Which code a flow would run, each piece with what to show and the digest trust records.

Three kinds, found from the model and file names alone (nothing is imported, so opening
a flow can say what it would run, and the studio and the CLI can ask before a run):

``tool_file``
    ``tools/<name>.py`` beside the flow (or a subflow) that a Tool node (``tool``) or an
    Agent node (``tools``) names, when no built-in or plugin has that name. Digest: the
    file's bytes.
``python``
    A ``run_python`` Tool node whose ``code`` is written in the flow (its fixed
    ``arguments.code``). Digest: that code.
``model_python``
    ``run_python`` code that only exists at run time: a Tool node whose ``code`` input
    is wired (in ``code_fixer`` a model writes it), or an Agent node offered
    ``run_python``. No digest of the code can exist in advance, so what is reviewed --
    and hashed -- is the part of the flow that produces it: the node and every node
    upstream of it, with their parameters. Edit a prompt that feeds the code and the
    person is asked again.
``secret_use``
    A Tool node whose fixed arguments name a stored secret (``{{ secrets.NAME }}``). A
    received flow must not be able to send your GITHUB_TOKEN wherever it likes just by
    naming it, so where each secret goes is reviewed like code. Digest: the node's tool
    and fixed arguments (``secret_use_digest``; ``nodes/tool.py`` checks the same digest).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from studio.core.document.model import FlowModel

from .registry import default_tools, local_tool_path
from .trust import digest, is_code_trusted

PYTHON_TOOL = "run_python"
SHOWN_PROMPT = 1200  # characters of an upstream prompt shown for a model_python item


@dataclass(frozen=True)
class FlowCode:
    node: str  # node id ("subflow › inner" inside a subflow)
    tool: str  # the tool's name (run_python for python and model_python)
    path: Path | None  # the tool's file (tool_file only)
    folder: Path | None  # the flow folder trust is recorded for (None: an unsaved flow)
    kind: str = "tool_file"  # "tool_file" | "python" | "model_python"
    label: str = ""  # what it is, in a few words
    code: str = ""  # what the person reviews
    digest: str = ""


def _tool_names(node) -> list[str]:
    p = node.params
    if node.type == "tool":
        return [p["tool"]] if isinstance(p.get("tool"), str) and p["tool"] else []
    if node.type == "agent":
        tools = p.get("tools")
        return [t for t in tools if isinstance(t, str) and t] if isinstance(tools, list) else []
    return []


def _upstream(m: FlowModel, nid: str) -> list[str]:
    """``nid`` and every node with a path to it, sorted."""
    seen = {nid}
    todo = [nid]
    while todo:
        for e in m.edges_into(todo.pop()):
            if e.src not in seen:
                seen.add(e.src)
                todo.append(e.src)
    return sorted(seen)


def _producer(m: FlowModel, nid: str) -> tuple[str, str]:
    """(digest, what to show) for run_python code produced at run time by ``nid``'s upstream."""
    ids = _upstream(m, nid)
    canonical = json.dumps([[i, m.nodes[i].type, m.nodes[i].params] for i in ids if i in m.nodes],
                           sort_keys=True, ensure_ascii=False, default=repr)
    lines = [f"Python code that does not exist yet: it reaches {nid!r} at run time, produced by these nodes",
             "(a model's answer can be steered by what it reads, so treat this code as untrusted; it runs in the sandbox):", ""]
    for i in ids:
        node = m.nodes.get(i)
        if node is None:
            continue
        lines.append(f"• {i} ({node.type})")
        for key in ("system", "prompt", "template", "code"):
            value = node.params.get(key)
            if isinstance(value, str) and value.strip():
                shown = value if len(value) <= SHOWN_PROMPT else value[:SHOWN_PROMPT] + " …"
                lines += [f"    {key}:"] + [f"      {line}" for line in shown.splitlines()]
    return digest("model_python", canonical), "\n".join(lines)


def secret_use_digest(tool: str, arguments) -> str:
    return digest("secret_use", json.dumps({"tool": tool, "arguments": arguments}, sort_keys=True,
                                           ensure_ascii=False, default=repr))


def _secret_use(m: FlowModel, nid: str, prefix: str, folder: Path | None) -> FlowCode | None:
    from studio.core.userdata.credentials import secret_refs

    node = m.nodes[nid]
    args = node.params.get("arguments")
    names = secret_refs(args) if node.type == "tool" and isinstance(args, dict) else []
    if not names:
        return None
    tool = str(node.params.get("tool") or "")
    where = args.get("url") if isinstance(args.get("url"), str) else None
    shown = (f"The {tool} step uses your stored secret{'s' * (len(names) > 1)} {', '.join(names)}"
             + (f" and sends {'them' if len(names) > 1 else 'it'} to {where}" if where else "")
             + ". Its arguments:\n\n" + json.dumps(args, indent=2, ensure_ascii=False, sort_keys=True))
    return FlowCode(prefix + nid, tool, None, folder, "secret_use", f"uses secret {', '.join(names)}", shown,
                    secret_use_digest(tool, args))


def _items(m: FlowModel, prefix: str) -> list[FlowCode]:
    out: list[FlowCode] = []
    builtins = default_tools()
    folder = Path(m.base_dir).resolve() if m.base_dir is not None else None
    for nid in sorted(m.nodes):
        node = m.nodes[nid]
        use = _secret_use(m, nid, prefix, folder)
        if use is not None:
            out.append(use)
        for name in _tool_names(node):
            if name == PYTHON_TOOL and builtins.get(name) is not None:
                args = node.params.get("arguments") if isinstance(node.params.get("arguments"), dict) else {}
                wired = node.type == "tool" and bool(m.edges_into(nid, "code"))
                if node.type == "tool" and not wired:
                    code = args.get("code")
                    if isinstance(code, str) and code:
                        out.append(FlowCode(prefix + nid, name, None, folder, "python", "run_python code", code,
                                            digest("python", code)))
                    continue
                d, shown = _producer(m, nid)
                out.append(FlowCode(prefix + nid, name, None, folder, "model_python",
                                    "Python written at run time (by a model or an upstream node)", shown, d))
                continue
            if builtins.get(name) is not None or m.base_dir is None:
                continue  # built-in and plugin names win over a flow's own file
            path = local_tool_path(m.base_dir, name)
            if path is None:
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            rel = f"tools/{path.name}"
            out.append(FlowCode(prefix + nid, name, path.resolve(), folder, "tool_file", rel,
                                data.decode("utf-8", errors="replace"), digest("tool_file", data)))
    return out


def flow_code(model: FlowModel) -> list[FlowCode]:
    """Every piece of code the flow's nodes (and its subflows' nodes) would run."""
    from studio.core.sharing.needs import flows_within

    out: list[FlowCode] = []
    for prefix, m in flows_within(model):
        out += _items(m, prefix)
    return out


def untrusted_code(model: FlowModel) -> list[FlowCode]:
    """The part of ``flow_code`` the person has not trusted (or whose code changed since)."""
    return [c for c in flow_code(model) if not is_code_trusted(c.folder, c.digest)]


def folder_code(folder: Path, tools: bool = True) -> list[FlowCode]:
    """The code of every ``*.flow.json`` directly in ``folder``, plus (with ``tools``) every
    ``tools/*.py`` there even if no flow names it yet: what ``orchestra trust FOLDER`` shows."""
    from studio.core.document.flowfile import load_flow
    from studio.core.errors import FlowFileError

    folder = Path(folder).resolve()
    out: dict[str, FlowCode] = {}
    for path in sorted(folder.glob("*.flow.json")):
        try:
            model = load_flow(path)
        except (FlowFileError, OSError):
            continue
        for c in flow_code(model):
            out.setdefault(c.digest, c)
    if tools and (folder / "tools").is_dir():
        for path in sorted((folder / "tools").glob("*.py")):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            d = digest("tool_file", data)
            out.setdefault(d, FlowCode("(no node yet)", path.stem, path.resolve(), folder, "tool_file",
                                       f"tools/{path.name}", data.decode("utf-8", errors="replace"), d))
    return list(out.values())


def review_text(items: list[FlowCode]) -> str:
    """Everything that would run, as plain text: what ``orchestra trust`` prints and the studio shows."""
    parts = []
    for c in items:
        where = f"{c.folder}" if c.folder is not None else "an unsaved flow"
        parts.append(f"── {c.label} · node {c.node} · {where}\n{c.code.rstrip()}\n")
    return "\n".join(parts)


def shipped_manifest(folder: Path) -> dict:
    """The ``shipped_code.json`` for the examples in ``folder`` (``projects/``): regenerate it with
    ``python -m studio.tools.flow_code projects`` after editing an example's code."""
    return {"about": "Digests of the code in the examples Orchestra ships; they run without asking. "
                     "Generated by `python -m studio.tools.flow_code projects`.",
            "digests": sorted({c.digest for c in folder_code(folder)})}


def untrusted_refusal(model: FlowModel, shown_path: str | Path) -> str | None:
    """Why a headless run must not start (code not trusted), naming ``orchestra trust``; None when it may."""
    pending = untrusted_code(model)
    if not pending:
        return None
    what = "; ".join(sorted({f"{c.label} (node {c.node})" for c in pending}))
    return (f"this flow would run code that you have not trusted: {what}. Nothing ran. Review it and trust it with "
            f"`orchestra trust {shown_path}` (it shows the code and asks; --yes for scripts), then run again.")


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    import sys

    target = Path(__file__).with_name("shipped_code.json")
    target.write_text(json.dumps(shipped_manifest(Path(sys.argv[1])), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")
