"""read_file / write_file / list_files / search_files, confined to the flow's folder.

Why confined: a model chooses the paths. Every path is resolved (following symlinks)
and must stay inside the flow's folder, so ``../../etc/passwd``, an absolute path or a
symlink pointing out is refused. Writes are also refused where they would turn into
code or configuration something acts on: any ``tools/`` folder at any depth (tool code
runs once trusted), any ``.git/`` (hooks run on the next commit), any ``*.flow.json``,
and Orchestra's own config folder (the trust store). Names are compared without regard
to case, and with Windows' trailing dots and spaces and ``::$DATA`` streams stripped,
because on macOS and Windows ``TOOLS/`` and ``other.FLOW.JSON`` are the same files. A file
with several hard links is not written (the write would land in the other name too).
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


PROTECTED_DIRS = ("tools", ".git")


def _component(name: str) -> str:
    """A path component as a case-insensitive file system sees it."""
    name = name.split(":", 1)[0]  # NTFS alternate data streams: "x.flow.json::$DATA"
    return name.rstrip(" .").casefold()  # Windows ignores trailing dots and spaces


def refused_write(rel: str) -> str | None:
    """Why a write to folder-relative ``rel`` is refused, or None."""
    parts = [_component(p) for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]
    for part in parts:
        if part in PROTECTED_DIRS:
            return f"{rel!r}: tools may not write into a {part}/ folder (code there runs later)"
    if parts and parts[-1].endswith(".flow.json"):
        return f"{rel!r}: tools may not write flow files"
    return None


def _in_config(path: Path) -> bool:
    from studio.core.userdata.paths import config_dir

    try:
        cfg = config_dir().resolve()
    except OSError:
        return False
    return path == cfg or path.is_relative_to(cfg)


def _write(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    root = ctx.require_folder("write_file")
    asked = str(args["path"])
    why = refused_write(asked)  # as given: "sub/TOOLS/x.py", "a.Flow.JSON "
    if why:
        raise PathRefused(why)
    path = confine(root, asked)
    rel = _display(root, path)
    if rel == "." or path.is_dir():
        raise PathRefused(f"{asked!r} is a folder")
    why = refused_write(rel)  # as resolved: a symlinked folder may lead into tools/ or .git/
    if why:
        raise PathRefused(why)
    if _in_config(path):
        raise PathRefused(f"{asked!r} is Orchestra's own settings folder; tools may not write there")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.parent.resolve() != path.parent or not path.parent.resolve().is_relative_to(root.resolve()):
        raise PathRefused(f"{asked!r} is outside the flow's folder and was refused")
    why = refused_write(_display(root, path.parent.resolve() / path.name))
    if why:  # a folder created meanwhile under another spelling
        raise PathRefused(why)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if args.get("append") else os.O_TRUNC)
    flags |= getattr(os, "O_NOFOLLOW", 0)  # never write through a symlink swapped in meanwhile
    data = str(args["content"]).encode("utf-8")
    fd = os.open(path, flags & ~os.O_TRUNC, 0o644)
    try:
        if os.fstat(fd).st_nlink > 1:
            raise PathRefused(f"{asked!r} has other hard links; writing it would change them too")
        if not args.get("append"):
            os.ftruncate(fd, 0)
        with os.fdopen(fd, "wb", closefd=False) as fh:
            fh.write(data)
    finally:
        os.close(fd)
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
