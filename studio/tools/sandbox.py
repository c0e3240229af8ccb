"""Where run_python's code runs: a sandbox built from what the platform provides.

Why not home-made checks: the code comes from a shared flow or from a model (prompt
injection makes both hostile). So it runs in a separate process the operating system
confines, chosen once per process by ``sandbox_kind()``:

``bwrap`` (Linux with bubblewrap installed; Debian package ``bubblewrap``)
    ``bwrap --ro-bind / / --unshare-all --die-with-parent --new-session --cap-drop ALL``:
    its own user, pid, network, IPC and mount namespaces. It sees the system read-only,
    with the home folders, ``/run``, ``/tmp`` and Orchestra's config and data folders
    replaced by empty in-memory folders (so neither the trust store nor the keyring's
    socket nor ``~/.ssh`` can be read or written); its own ``/proc`` (the parent's
    environment and memory are not there to read); no network at all. Its working folder
    is in that in-memory ``/tmp``, filled from a file descriptor (``--file``), so no
    folder on disk is left behind whatever happens. When Orchestra dies -- even by
    SIGKILL -- the kernel's parent-death signal stops bwrap and the pid namespace takes
    every process the code started with it (``setsid`` and double forks included).
    As root it also drops to the user ``nobody`` inside.

``process`` (everywhere else, or ``ORCHESTRA_SANDBOX=process``)
    A launcher process in its own session, the parent-death signal set (Linux), a child
    subreaper that kills every descendant -- re-parented to it after a double fork --
    when the code ends or when Orchestra dies, then deletes the temporary folder. The
    environment is scrubbed, and Orchestra marks itself non-dumpable so a same-user
    process cannot read its ``/proc/PID/environ`` or memory; as root the code runs as
    ``nobody``. Not a boundary against a determined attacker running as the same user:
    it can still read and write what that user can (docs/security.md says what each
    platform gets).

CPU, memory and file-size limits (rlimits) and the wall-clock timeout apply in both.
"""

from __future__ import annotations

import os
import shutil
import sys
from functools import lru_cache
from pathlib import Path

NOBODY = 65534
HIDDEN = ("/home", "/root", "/run", "/var/run", "/tmp", "/var/tmp", "/media", "/mnt")


@lru_cache(maxsize=1)
def _bwrap_path() -> str | None:
    if not sys.platform.startswith("linux"):
        return None
    path = shutil.which("bwrap")
    if path is None:
        return None
    import subprocess

    try:  # installed is not enough: user namespaces may be switched off
        ok = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
                            capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return path if ok else None


def sandbox_kind() -> str:
    """"bwrap" or "process": what run_python's code runs in here."""
    wanted = os.environ.get("ORCHESTRA_SANDBOX", "").strip().lower()
    if wanted == "process":
        return "process"
    return "bwrap" if _bwrap_path() is not None else "process"


@lru_cache(maxsize=1)
def can_drop_to_nobody() -> bool:
    """Root only: can the user ``nobody`` start this interpreter? (Not when Python lives
    under /root, as with pyenv here; then the process sandbox keeps root's uid, and says so.)"""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    import subprocess

    def drop() -> None:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    try:
        return subprocess.run([sys.executable, "-I", "-c", "pass"], preexec_fn=drop, capture_output=True,
                              timeout=20, cwd="/").returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def privilege_drop() -> str:
    """What the process sandbox does about privileges: "nobody" (root becomes nobody),
    "nocaps" (root that nobody cannot run Python for keeps uid 0 but loses every
    capability, so it cannot read a non-dumpable process or override file permissions),
    or "none" (an ordinary user: nothing to drop)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "none"
    if can_drop_to_nobody():
        return "nobody"
    return "nocaps" if sys.platform.startswith("linux") else "none"


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


_hardened = False


def harden_parent() -> None:
    """Make this (Orchestra's) process non-dumpable: on Linux a same-user process can then
    read neither ``/proc/<pid>/environ`` nor its memory, nor ptrace it. Done once, before
    the first sandboxed run; it also means no core dumps of Orchestra."""
    global _hardened
    if _hardened or not sys.platform.startswith("linux"):
        return
    try:
        _libc().prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        return
    _hardened = True


def _hidden_roots() -> list[str]:
    from studio.core.userdata.paths import config_dir

    roots = [p for p in HIDDEN if os.path.isdir(p) and not os.path.islink(p)]
    extra = [config_dir()]
    from studio.core.userdata.paths import data_dir

    extra.append(Path(data_dir()))  # traces: what earlier runs saw
    for p in extra:
        try:
            real = os.path.realpath(p)
        except OSError:
            continue
        if os.path.isdir(real) and not any(real == r or real.startswith(r + "/") for r in roots):
            roots.append(real)
    return roots


def _needed_paths() -> list[str]:
    """Paths the interpreter needs that a hidden folder may cover (pyenv under /root, a venv in ~)."""
    out = []
    for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}:
        real = os.path.realpath(p)
        if os.path.isdir(real) and real not in out:
            out.append(real)
    return sorted(out)


def bwrap_command(workdir: str, code_fd: int, env: dict[str, str], argv: list[str]) -> list[str]:
    """The bwrap command line that runs ``argv`` in ``workdir`` (an in-memory folder)."""
    cmd = [_bwrap_path() or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    hidden = _hidden_roots()
    for root in hidden:
        cmd += ["--tmpfs", root]
    for p in _needed_paths():
        if any(p == r or p.startswith(r + "/") for r in hidden):
            cmd += ["--ro-bind", p, p]
    cmd += ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    if os.geteuid() == 0:
        cmd += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    cmd += ["--clearenv"]
    for k, v in sorted(env.items()):
        cmd += ["--setenv", k, v]
    cmd += ["--dir", workdir, "--file", str(code_fd), f"{workdir}/main.py", "--chdir", workdir, "--", *argv]
    return cmd


# The launcher of the "process" sandbox: runs as Orchestra's child, sets the parent-death
# signal and becomes a child subreaper, starts the code as its own child (dropping to
# nobody when root), and on the code's end or its own SIGTERM kills every descendant and
# deletes the working folder. argv: parent_pid workdir drop(nobody|nocaps|none) mem cpu fsize
PROCESS_LAUNCHER = r"""
import os, signal, sys, shutil
ppid, work, drop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
mem, cpu, fsize = (int(x) for x in sys.argv[4:7])
linux = sys.platform.startswith("linux")
if linux:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM, 0, 0, 0)   # PR_SET_PDEATHSIG: told when Orchestra dies
    libc.prctl(36, 1, 0, 0, 0)               # PR_SET_CHILD_SUBREAPER: orphans come to us
if os.getppid() != ppid:
    sys.exit(137)                             # Orchestra died before the signal was set
class Stop(BaseException):
    pass

def on_term(*_):
    raise Stop()

signal.signal(signal.SIGTERM, on_term)

def descendants():
    found, todo = [], [os.getpid()]
    while todo:
        pid = todo.pop()
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as fh:
                    kids = [int(x) for x in fh.read().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found

def kill_all(first):
    if not linux:  # no /proc children lists: the code's own process group
        try:
            os.killpg(first, signal.SIGKILL)
        except OSError:
            pass
    for _ in range(50):
        pids = descendants() if linux else []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG) == (0, 0):
                    break
            except ChildProcessError:
                break
        if not pids:
            break

root = drop == "nobody"
if root:
    os.chown(work, 65534, 65534)
    os.chown(os.path.join(work, "main.py"), 65534, 65534)
status = None
child = 0
try:
    child = os.fork()
    if child == 0:
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if not linux:
                os.setpgid(0, 0)
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if root:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            elif drop == "nocaps":  # root that cannot become nobody: root without capabilities after exec
                if libc.prctl(28, 3, 0, 0, 0) != 0:  # PR_SET_SECUREBITS: NOROOT | NOROOT_LOCKED
                    os._exit(126)
            os.execv(sys.executable, [sys.executable, "-I", "main.py"])
        finally:
            os._exit(127)
    while True:
        try:
            status = os.waitpid(child, 0)[1]
            break
        except ChildProcessError:
            break
except Stop:
    pass
signal.signal(signal.SIGTERM, signal.SIG_IGN)
kill_all(child)
shutil.rmtree(work, ignore_errors=True)
if status is None:
    sys.exit(143)
if os.WIFSIGNALED(status):
    sig = os.WTERMSIG(status)
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)
"""

# The code's own launcher inside bwrap: set the limits, then run main.py.
BWRAP_LAUNCHER = """\
import runpy, sys
mem, cpu, fsize = (int(x) for x in sys.argv[1:4])
import resource
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
sys.argv = ["main.py"]
del resource, mem, cpu, fsize
runpy.run_path("main.py", run_name="__main__")
"""

