"""run_python: a snippet in a sandboxed process with CPU, memory and wall-time limits.

Why a sandbox: the code comes from a model or a shared flow, and prompt injection makes
either hostile. ``sandbox.py`` picks what the platform provides (bubblewrap on Linux when
installed, else a launcher process with a parent-death signal and a subreaper) and says
what each protects. Either way the code gets a fresh interpreter (``-I``), an empty
temporary folder that is gone afterwards, an environment without API keys, rlimits for
memory, CPU time and file size, and a wall-clock timeout; a timeout, a cancellation or
Orchestra's own death stops every process it started. Output is captured up to a cap.

It runs only when the person trusted what would run (``trust.require_python``): the exact
code, or the flow that has a model write it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from . import sandbox
from .base import Tool, ToolContext

MAX_OUTPUT = 200_000
DRAIN_GRACE_S = 2.0  # after the code ends, how long its output pipes may stay open

# Windows: no fork, no rlimits; only the wall-clock limit and the scrubbed environment apply.
_PLAIN_LAUNCHER = """\
import runpy, sys
sys.argv = ["main.py"]
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


def _env(home: str) -> dict[str, str]:
    env = {"PATH": os.defpath, "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
           "PYTHONDONTWRITEBYTECODE": "1"}
    if os.name == "nt":  # Windows needs these to start Python at all
        env.update({k: os.environ[k] for k in ("SYSTEMROOT", "SYSTEMDRIVE") if k in os.environ})
    return env


async def _start(code: str, limits: list[str]) -> tuple[asyncio.subprocess.Process, str, str | None]:
    """(process, kind, host folder to remove or None)."""
    kind = sandbox.sandbox_kind() if os.name == "posix" else "plain"
    sandbox.harden_parent()
    pipes = dict(stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    if kind == "bwrap":
        work = f"/tmp/orchestra-py-{uuid.uuid4().hex[:12]}"
        fd = os.memfd_create("orchestra-main.py")
        try:
            os.write(fd, code.encode("utf-8"))
            os.lseek(fd, 0, os.SEEK_SET)
            cmd = sandbox.bwrap_command(work, fd, _env(work), [sys.executable, "-I", "-c", sandbox.BWRAP_LAUNCHER, *limits])
            proc = await asyncio.create_subprocess_exec(*cmd, env=_env(work), pass_fds=(fd,), start_new_session=True,
                                                        **pipes)
        finally:
            os.close(fd)
        return proc, kind, None
    work = tempfile.mkdtemp(prefix="orchestra-py-")
    try:
        (Path(work) / "main.py").write_text(code, encoding="utf-8")
        if kind == "process":
            argv = [sys.executable, "-I", "-c", sandbox.PROCESS_LAUNCHER, str(os.getpid()), work,
                    sandbox.privilege_drop(), *limits]
        else:
            argv = [sys.executable, "-I", "-c", _PLAIN_LAUNCHER]
        proc = await asyncio.create_subprocess_exec(*argv, cwd=work, env=_env(work),
                                                    start_new_session=os.name == "posix", **pipes)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return proc, kind, work


async def run_python(code: str, *, stdin: str = "", timeout_s: float = 10.0, memory_mb: int = 256,
                     file_mb: int = 16) -> dict[str, Any]:
    """Run ``code`` in the sandbox; returns stdout, stderr, exit_code, timed_out, the limits and the sandbox."""
    cpu = max(1, int(timeout_s + 0.999))
    limits = [str(memory_mb * 1024 * 1024), str(cpu), str(file_mb * 1024 * 1024)]
    proc, kind, work = await _start(code, limits)
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
            await _stop(proc, kind)
        # an escaped process holding the pipes must not hold the run: a short grace, then stop reading
        done, _ = await asyncio.wait({out_task, err_task}, timeout=DRAIN_GRACE_S)
        if len(done) < 2:
            await _stop(proc, kind)
            done, _ = await asyncio.wait({out_task, err_task}, timeout=DRAIN_GRACE_S)
    except BaseException:  # cancelled: leave no process behind
        await asyncio.shield(_stop(proc, kind))
        out_task.cancel()
        err_task.cancel()
        raise
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    out, out_total = _result(out_task)
    err, err_total = _result(err_task)
    stderr = _text(err, err_total)
    code_ = proc.returncode
    if code_ is not None and code_ < 0 and not timed_out:
        if -code_ in (getattr(signal, "SIGXCPU", -1), getattr(signal, "SIGKILL", -1)):
            stderr += f"\n[stopped: CPU time limit of {cpu} s]"
    elif kind == "bwrap" and code_ in (128 + getattr(signal, "SIGXCPU", 24), 128 + 9) and not timed_out:
        stderr += f"\n[stopped: CPU time limit of {cpu} s]"
    if timed_out:
        stderr += f"\n[stopped: time limit of {timeout_s:g} s]"
    return {"stdout": _text(out, out_total), "stderr": stderr, "exit_code": code_, "timed_out": timed_out,
            "limits": {"timeout_s": timeout_s, "memory_mb": memory_mb}, "sandbox": kind}


def _result(task: asyncio.Future) -> tuple[bytes, int]:
    if task.done() and not task.cancelled() and task.exception() is None:
        return task.result()
    task.cancel()
    return b"", 0


async def _stop(proc: asyncio.subprocess.Process, kind: str) -> None:
    """Stop the sandbox and everything in it, and reap it.

    bwrap: killing it ends its pid namespace, which takes every process inside. process:
    SIGTERM lets the launcher kill its descendants and delete the folder; SIGKILL to its
    session after a grace period in case the launcher itself was killed.
    """
    if proc.returncode is None:
        if kind == "process":
            _signal(proc, signal.SIGTERM, group=False)
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), 3.0)
            except asyncio.TimeoutError:
                pass
        _signal(proc, getattr(signal, "SIGKILL", signal.SIGTERM), group=True)
        await proc.wait()
    elif kind != "bwrap":
        _signal(proc, getattr(signal, "SIGKILL", signal.SIGTERM), group=True)


def _signal(proc: asyncio.subprocess.Process, sig: int, group: bool) -> None:
    try:
        if group and hasattr(os, "killpg"):
            os.killpg(proc.pid, sig)  # its whole session: children too
        else:
            proc.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass


async def _run(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    from .trust import require_python

    require_python(ctx.flow_dir, args["code"])
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
