"""run_python: a snippet in a separate process with CPU, memory and wall-time limits.

Why a process and rlimits: the code comes from a model or a shared flow. It runs in a
fresh interpreter (``-I``: no user site, no PYTHON* variables), in an empty temporary
folder that is deleted afterwards, with an environment that carries no API keys, its
own session (so a timeout kills its children too), RLIMIT_AS for memory, RLIMIT_CPU for
CPU time, RLIMIT_FSIZE for files it writes, and a wall-clock timeout for sleeping code.
Output is captured up to a cap; the exit code tells how it ended. This is a limit on
accidents and runaway code, not a security sandbox against a determined attacker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from .base import Tool, ToolContext

MAX_OUTPUT = 200_000

# Runs inside the child before the user's code: set the limits, then run main.py.
# Where ``resource`` is missing (Windows) only the wall-clock limit applies.
_LAUNCHER = """\
import runpy, sys
mem, cpu, fsize = (int(x) for x in sys.argv[1:4])
try:
    import resource
except ImportError:
    resource = None
if resource is not None:
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
sys.argv = ["main.py"]
del resource, mem, cpu, fsize
runpy.run_path("main.py", run_name="__main__")
"""


async def _drain(stream: asyncio.StreamReader, cap: int) -> tuple[bytes, int]:
    kept = bytearray()
    total = 0
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return bytes(kept), total
        total += len(chunk)
        if len(kept) < cap:
            kept.extend(chunk[: cap - len(kept)])


def _text(data: bytes, total: int) -> str:
    text = data.decode("utf-8", errors="replace")
    if total > len(data):
        text += f"\n[... {total - len(data)} more bytes not kept]"
    return text


async def run_python(code: str, *, stdin: str = "", timeout_s: float = 10.0, memory_mb: int = 256,
                     file_mb: int = 16) -> dict[str, Any]:
    """Run ``code``; returns stdout, stderr, exit_code, timed_out and the limits applied."""
    with tempfile.TemporaryDirectory(prefix="orchestra-py-") as tmp:
        work = Path(tmp)
        (work / "main.py").write_text(code, encoding="utf-8")
        env = {"PATH": os.defpath, "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
               "PYTHONDONTWRITEBYTECODE": "1"}
        cpu = max(1, int(timeout_s + 0.999))
        if os.name == "nt":  # Windows needs these to start Python at all
            env.update({k: os.environ[k] for k in ("SYSTEMROOT", "SYSTEMDRIVE") if k in os.environ})
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-c", _LAUNCHER, str(memory_mb * 1024 * 1024), str(cpu), str(file_mb * 1024 * 1024),
            cwd=tmp, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=os.name == "posix",
        )
        out_task = asyncio.ensure_future(_drain(proc.stdout, MAX_OUTPUT))  # type: ignore[arg-type]
        err_task = asyncio.ensure_future(_drain(proc.stderr, MAX_OUTPUT))  # type: ignore[arg-type]
        timed_out = False
        try:
            if stdin:
                try:
                    proc.stdin.write(stdin.encode("utf-8"))  # type: ignore[union-attr]
                    await proc.stdin.drain()  # type: ignore[union-attr]
                except (BrokenPipeError, ConnectionResetError):
                    pass
            proc.stdin.close()  # type: ignore[union-attr]
            try:
                await asyncio.wait_for(proc.wait(), timeout_s)
            except asyncio.TimeoutError:
                timed_out = True
                _kill(proc)
                await proc.wait()
        except BaseException:  # cancelled: leave no process behind
            _kill(proc)
            await asyncio.shield(proc.wait())
            out_task.cancel()
            err_task.cancel()
            raise
        out, out_total = await out_task
        err, err_total = await err_task
    stderr = _text(err, err_total)
    code_ = proc.returncode
    if code_ is not None and code_ < 0 and not timed_out:
        if -code_ in (getattr(signal, "SIGXCPU", -1), getattr(signal, "SIGKILL", -1)):
            stderr += f"\n[stopped: CPU time limit of {cpu} s]"
    if timed_out:
        stderr += f"\n[stopped: time limit of {timeout_s:g} s]"
    return {"stdout": _text(out, out_total), "stderr": stderr, "exit_code": code_, "timed_out": timed_out,
            "limits": {"timeout_s": timeout_s, "memory_mb": memory_mb}}


def _kill(proc: asyncio.subprocess.Process) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)  # its whole session: children too
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


async def _run(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    return await run_python(args["code"], stdin=args.get("stdin") or "", timeout_s=float(args["timeout_s"]),
                            memory_mb=int(args["memory_mb"]))


TOOL = Tool(
    "run_python",
    "Run a Python 3 snippet in a separate, time- and memory-limited process (a fresh temporary folder, "
    "no network credentials). Print what you need; returns stdout, stderr and the exit code.",
    {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "Python source to run as a script."},
            "stdin": {"type": "string", "default": ""},
            "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 300, "default": 10},
            "memory_mb": {"type": "integer", "minimum": 64, "maximum": 8192, "default": 256},
        },
        "required": ["code"],
        "additionalProperties": False,
    },
    _run,
)
