"""read_file / write_file / list_files / search_files, confined to the flow's folder.

Why confined: a model chooses the paths. Every path is resolved (following symlinks)
and must stay inside the flow's folder, so ``../../etc/passwd``, an absolute path or a
symlink pointing out is refused. Writes are also refused where they would turn into
code or configuration the product acts on: the folder's ``tools/`` (tool code runs once
the folder is trusted) and ``*.flow.json`` files.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any, Iterator

from studio.core.errors import NodeFailure

from .base import Tool, ToolContext

MAX_READ = 1_000_000
MAX_LIST = 1_000
_SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv"}


class PathRefused(NodeFailure):
    """A path that would leave the flow's folder (or touch what tools may not write)."""


def confine(root: Path, relative: str) -> Path:
    """``relative`` resolved inside ``root``; PathRefused when it would escape."""
    if not isinstance(relative, str) or not relative.strip():
        raise PathRefused("the path is empty")
    if "\x00" in relative:
        raise PathRefused("the path contains a NUL character")
    rel = Path(relative.strip())
    if rel.is_absolute() or rel.drive:
        raise PathRefused(f"{relative!r}: absolute paths are refused; give a path inside the flow's folder")
    base = root.resolve(strict=True)
    target = (base / rel).resolve(strict=False)  # follows every symlink that exists
    if target != base and not target.is_relative_to(base):
        raise PathRefused(f"{relative!r} is outside the flow's folder and was refused")
    return target


def _display(root: Path, path: Path) -> str:
    return path.relative_to(root.resolve()).as_posix()


def _read(args: dict[str, Any], ctx: ToolContext) -> str:
    root = ctx.require_folder("read_file")
    path = confine(root, args["path"])
    if not path.is_file():
        raise NodeFailure(f"{args['path']!r} is not a file in the flow's folder")
    limit = min(int(args.get("max_bytes") or MAX_READ), MAX_READ)
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    text = data[:limit].decode("utf-8", errors="replace")
    if len(data) > limit:
        text += f"\n[... truncated at {limit} bytes]"
    return text


def _write(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    root = ctx.require_folder("write_file")
    path = confine(root, args["path"])
    rel = _display(root, path)
    if rel == "." or path.is_dir():
        raise PathRefused(f"{args['path']!r} is a folder")
    if rel == "tools" or rel.startswith("tools/") or rel.endswith(".flow.json"):
        raise PathRefused(f"{rel!r}: tools may not write tool code or flow files")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.parent.resolve() != path.parent or not path.parent.resolve().is_relative_to(root.resolve()):
        raise PathRefused(f"{args['path']!r} is outside the flow's folder and was refused")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if args.get("append") else os.O_TRUNC)
    flags |= getattr(os, "O_NOFOLLOW", 0)  # never write through a symlink swapped in meanwhile
    data = str(args["content"]).encode("utf-8")
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return {"path": rel, "bytes": len(data), "appended": bool(args.get("append"))}


def _walk(root: Path, pattern: str) -> Iterator[Path]:
    base = root.resolve()
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(base).as_posix()
            if not (fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(name, pattern)):
                continue
            real = path.resolve()
            if real.is_relative_to(base) and real.is_file():  # symlinks out are not listed
                yield path


def _list(args: dict[str, Any], ctx: ToolContext) -> list[str]:
    root = ctx.require_folder("list_files")
    out = []
    for path in _walk(root, args.get("pattern") or "*"):
        out.append(_display(root, path))
        if len(out) >= MAX_LIST:
            break
    return out


def _search(args: dict[str, Any], ctx: ToolContext) -> list[dict[str, Any]]:
    root = ctx.require_folder("search_files")
    query = args["query"]
    try:
        rx = re.compile(query if args.get("regex") else re.escape(query), 0 if args.get("case_sensitive") else re.I)
    except re.error as exc:
        raise NodeFailure(f"search_files: bad regular expression: {exc}") from None
    limit = int(args.get("max_results") or 100)
    hits: list[dict[str, Any]] = []
    for path in _walk(root, args.get("pattern") or "*"):
        try:
            if path.stat().st_size > 5 * MAX_READ:
                continue
            with open(path, "r", encoding="utf-8", errors="strict") as fh:
                for n, line in enumerate(fh, 1):
                    if rx.search(line):
                        hits.append({"path": _display(root, path), "line": n, "text": line.rstrip("\n")[:300]})
                        if len(hits) >= limit:
                            return hits
        except (UnicodeDecodeError, OSError):
            continue  # binary or unreadable files are not searched
    return hits


_PATH = {"type": "string", "description": "A path relative to the flow's folder."}

READ_FILE = Tool(
    "read_file", "Read a text file from the flow's folder.",
    {"type": "object", "properties": {"path": _PATH,
                                      "max_bytes": {"type": "integer", "minimum": 1, "maximum": MAX_READ, "default": MAX_READ}},
     "required": ["path"], "additionalProperties": False},
    _read,
)
WRITE_FILE = Tool(
    "write_file", "Write (or append) text to a file in the flow's folder; folders are created as needed.",
    {"type": "object", "properties": {"path": _PATH, "content": {"type": "string"},
                                      "append": {"type": "boolean", "default": False}},
     "required": ["path", "content"], "additionalProperties": False},
    _write,
)
LIST_FILES = Tool(
    "list_files", "List files in the flow's folder matching a glob pattern such as '*.md' or 'data/*.csv'.",
    {"type": "object", "properties": {"pattern": {"type": "string", "default": "*"}}, "additionalProperties": False},
    _list,
)
SEARCH_FILES = Tool(
    "search_files", "Search text files in the flow's folder for a word or regular expression; returns path, line and text.",
    {"type": "object", "properties": {
        "query": {"type": "string"},
        "pattern": {"type": "string", "default": "*", "description": "Which files to search (glob)."},
        "regex": {"type": "boolean", "default": False},
        "case_sensitive": {"type": "boolean", "default": False},
        "max_results": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
     "required": ["query"], "additionalProperties": False},
    _search,
)
TOOLS = (READ_FILE, WRITE_FILE, LIST_FILES, SEARCH_FILES)
