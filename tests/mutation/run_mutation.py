"""Mutation testing of the engine, the file format and validation, with mutmut.

Why mutmut (3.x): it is maintained, runs on Python 3.11, and is fast where it counts on a
2-core machine: it records which tests reach each function, then runs only those tests
against each mutant, forked from a warm process (no re-import of litellm per mutant),
stopping at the first failing test. cosmic-ray runs the whole test command per mutant
(minutes per mutant here); pytest-gremlins is young and has few users.

What it does, per group (GROUPS below: the engine; the file format and validation):
copies the repository to a scratch folder (the working tree never sees a mutant),
writes mutmut's settings into the copy's pyproject.toml, runs the group's tests once
clean (tests that already fail there are deselected and listed: mutmut needs a green
baseline), runs ``mutmut run``, prints every surviving mutant and writes them to
<workdir>/<group>/survivors.txt. It ends with ONE JSON line: mutants, killed (timeouts
count as killed), survived ("no tests" counts as survived), score = killed / (killed +
survived). Each survivor is killed by a test or explained in tests/mutation/SURVIVORS.md.

Where the time goes, and what this does about it (measured on this 2-core machine):
a mutant costs one pytest session, forked from the warm process, over the tests that
reach its function, fastest first; a killed mutant stops at its first failing test, a
survivor runs them all.
* pytest's start-up: plugin autoloading is off and only the plugins these tests use
  are loaded (PYTEST_ARGS); no unraisable/thread-exception plugins (their clean-up
  ran full garbage collections of the warm heap).
* tests/conftest.py (ORCHESTRA_MUTATION=1) collects and freezes the warm heap at the
  end of the parent's sessions, before the workers fork -- and no longer at the end of
  each mutant's own session, where that collection cost 0.5-1.2 s of every mutant
  (more than most mutants' tests).
* pytest's temp folders live in a root of this run's own, on tmpfs (_temproot): at the
  end of a session pytest deletes the oldest numbered temp folders, and under the
  shared /tmp/pytest-of-<user> those were other people's (one mutant session spent
  2.1 of its 2.6 s deleting 6,441 files of someone else's suite run).
  With both, a one-test mutant costs ~0.2 s (was 0.6-2.6 s).
* property tests run 8 derandomized examples per mutant instead of 300.
* a hanging mutant is cut after TEST_TIMEOUT_S (6 s) per test; the engine group runs
  3 mutants at once on the 2 cores, since its hanging mutants and its tests wait on
  timers and sockets (the CPU sat idle for whole seconds at 2).
* survivors dominate what is left: an engine survivor in a function every run passes
  through (compile_plan, Run.context, Run._main_inner...) re-runs all ~300 of the
  group's tests, 8-12 s; a file survivor ~240 fast tests, ~1-2 s. Every survivor a
  test kills is one such re-run fewer; the habit is --reuse --names <survivors.txt>
  after adding tests.
* a validation hint's wording is not mutated (DO_NOT_MUTATE_PATTERNS).
Measured (2026-12-02, this 2-core machine kept quiet, load average 1.1-2.0): both groups from
scratch in 19 min 51 s -- engine 2,048 mutants in 14.2 min (1,940 killed, 108 survived, 75 of
them argued equivalent), file 2,531 in 5.6 min (2,312 killed, 219 survived, 151 equivalent):
98.3% and 97.1% of the non-equivalent mutants killed. The scores, every survivor's fate and
what is left: tests/mutation/SURVIVORS.md.

Usage (not part of CI):

    .venv/bin/python tests/mutation/run_mutation.py                      # both groups
    .venv/bin/python tests/mutation/run_mutation.py --group file         # one group
    .venv/bin/python tests/mutation/run_mutation.py --group engine --only studio/core/running/retry.py
    # the habit: after adding tests for the survivors, re-check just those, resuming
    .venv/bin/python tests/mutation/run_mutation.py --reuse --names /tmp/orchestra-mutation/file/survivors.txt
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# what is mutated, in two groups, each with the tests that must kill its mutants (a mutant
# counts as killed only by a test of its own part: a file-format mutant that merely
# breaks some engine test by accident is not what a file-format test proves, and a
# survivor re-runs every test that reaches it, so the file group's survivors cost its
# ~230 fast tests instead of all ~350). No Qt, no subprocess-heavy CLI tests.
GROUPS = {
    # the engine: plan, executor (re-exports only: no function, no mutant), retry, and the
    # engine package -- the run, its scopes, a step, the budget (Run.check_budget, the
    # step's check before a paid node, the fan-out's stop) and kinds/ (loop, fan-out,
    # subflow, branching, approval, interface)
    "engine": (
        ["studio/core/running/plan.py", "studio/core/running/executor.py", "studio/core/running/retry.py",
         "studio/core/running/engine/*.py", "studio/core/running/engine/**/*.py"],
        ["tests/guarantees", "tests/executor", "tests/corpus", "tests/core/test_graph_nesting.py",
         "tests/core/test_events.py"],
    ),
    # the file format and validation
    "file": (
        ["studio/core/document/flowfile.py", "studio/core/document/validation.py"],
        ["tests/core/test_flowfile.py", "tests/core/test_validation_rules.py", "tests/guarantees/test_file_guarantees.py"],
    ),
}

# lines whose literals are not mutated: a validation hint's wording (a whole line
# `hint="..."`). What the engine promises is that every problem HAS a hint
# (tests/guarantees/test_file_guarantees.py), not its words; "XX..XX" or a case change
# of one is equivalent by that promise. 36 mutants of validation.py, nothing else.
DO_NOT_MUTATE_PATTERNS = [r'^\s*hint="[^"]*"\)?,?\s*$']

# per test: a mutant that hangs a run (a loop that never ends, a wait never released)
# fails here in seconds instead of waiting for the suite's 120 s pytest-timeout. In a
# warm worker the slowest test of either group takes 1.0 s (the corpus's Delay node
# waits its real default second; the rest are under 0.6 s), so 6 s leaves a margin of
# six for a loaded machine. Hanging mutants were ~2% of the engine's and cost 15 s
# each at the former 15 s.
TEST_TIMEOUT_S = 6
# mutmut's own guard per mutant: (time of the tests reaching it + constant) * multiplier
# of wall time (default 15x, i.e. minutes for a function every test reaches)
TIMEOUT_MULTIPLIER = 3.0
TIMEOUT_CONSTANT_S = 5.0

# pytest as each mutant's worker runs it. A worker pays pytest's start-up for every
# mutant, so: only the plugins these tests use (entry-point autoloading off:
# PYTEST_DISABLE_PLUGIN_AUTOLOAD in _env; pytest-qt, anyio, langsmith, platformdirs are
# not loaded), and no unraisable/thread-exception plugins, whose clean-up runs full
# garbage collections of the worker's whole heap (about 1 s of the 2 s a mutant cost).
PYTEST_ARGS = ["-p", "no:cacheprovider", "-o", "addopts=", "-o", f"timeout={TEST_TIMEOUT_S}",
               "-p", "pytest_asyncio.plugin", "-p", "pytest_timeout", "-p", "_hypothesis_pytestplugin",
               "-p", "no:unraisableexception", "-p", "no:threadexception"]

# mutants run at once, per group, on the 2 cores. The file group's tests are synchronous
# and CPU-bound: 2. The engine group's hanging mutants (a wait never released, ~2% of
# them, each cut by TEST_TIMEOUT_S) sleep rather than spin, and its tests wait on
# sockets and timers: measured at 2 workers the CPU sat idle for whole seconds, about
# 30% of the worker time was such waits; a third worker fills them.
MAX_CHILDREN = {"engine": 3, "file": 2}

COPY = ["studio", "nodes", "tests", "projects", "resources", "pyproject.toml", "README.md"]


def _modules(chosen: list[str]) -> list[str]:
    found: list[str] = []
    for pattern in chosen:
        for path in sorted(glob.glob(str(ROOT / pattern), recursive=True)):
            rel = str(Path(path).relative_to(ROOT))
            if rel not in found and rel.endswith(".py"):
                found.append(rel)
    return found


def _copy(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for part in COPY:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__", "mutants", "*.egg-info"))
        elif src.exists():
            shutil.copy2(src, dest / part)


def _baseline_failures(dest: Path, tests: list[str]) -> list[str]:
    """Tests that fail before any mutation (mutmut needs a green start)."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", *PYTEST_ARGS, "-rf", *tests], cwd=dest,
                          capture_output=True, text=True, env=_env(dest))
    return sorted(set(re.findall(r"^FAILED (\S+?)(?: - |$)", proc.stdout, re.M)))


def _env(dest: Path) -> dict[str, str]:
    env = dict(os.environ)
    # ORCHESTRA_MUTATION=1: tests/conftest.py caps hypothesis examples and freezes the
    # warm heap before the workers fork (see there)
    env.update(QT_QPA_PLATFORM="offscreen", LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONPATH=str(dest),
               ORCHESTRA_MUTATION="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
               PYTEST_DEBUG_TEMPROOT=str(_temproot(dest)))
    return env


def _temproot(dest: Path) -> Path:
    """pytest's tmp_path root for this group's sessions: its own, in memory when it can.

    Every mutant is a pytest session, and each session ends by deleting the oldest of the
    numbered temp folders beyond the newest three. Under the shared /tmp/pytest-of-<user>
    those are other people's folders (a full suite leaves thousands of files): one
    measured mutant session spent 2.1 of its 2.6 s deleting 6,441 files it never made.
    In a folder of its own a session deletes at most another mutant's few files, and on
    tmpfs (/dev/shm) creating and deleting them costs no disk writes."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else dest
    root = base / f"orchestra-mutation-{dest.name}-{os.getpid()}"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def _configure(dest: Path, modules: list[str], tests: list[str], deselect: list[str]) -> None:
    args = [*tests, *[f"--deselect={t}" for t in deselect]]
    config = (
        "\n\n[tool.mutmut]\n"
        f"source_paths = {_toml_list(['studio', 'nodes'])}\n"
        f"only_mutate = {_toml_list(modules)}\n"
        f"also_copy = {_toml_list(['tests', 'projects', 'resources', 'README.md'])}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(args)}\n"
        f"pytest_add_cli_args = {_toml_list(PYTEST_ARGS)}\n"
        f"do_not_mutate_patterns = {_toml_list(DO_NOT_MUTATE_PATTERNS)}\n"
        f"timeout_multiplier = {TIMEOUT_MULTIPLIER}\n"
        f"timeout_constant = {TIMEOUT_CONSTANT_S}\n"
    )
    with open(dest / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write(config)


def _results(dest: Path, names: list[str]) -> dict[str, list[str]]:
    proc = subprocess.run([str(Path(sys.executable).parent / "mutmut"), "results", "--all", "true"], cwd=dest,
                          capture_output=True, text=True, env=_env(dest))
    by_status: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*(\S+): (.+)$", line)
        if m and (not names or any(fnmatch.fnmatchcase(m.group(1), n) for n in names)):
            by_status.setdefault(m.group(2).strip(), []).append(m.group(1))
    return by_status


def _sync_tests(dest: Path) -> None:
    """--reuse: the working tree's tests replace the workdir's (new tests are picked up by
    mutmut's incremental stats; name the earlier survivors to re-check them)."""
    for where in (dest / "tests", dest / "mutants" / "tests"):
        if where.exists():
            shutil.rmtree(where)
            shutil.copytree(ROOT / "tests", where, ignore=shutil.ignore_patterns("__pycache__"))


def run_group(name: str, modules: list[str], tests: list[str], dest: Path, a: argparse.Namespace,
              names: list[str]) -> dict:
    print(f"[{name}] mutating {len(modules)} module(s): {', '.join(modules)}", flush=True)
    print(f"[{name}] with the tests in: {', '.join(tests)}", flush=True)
    t0 = time.perf_counter()
    if a.reuse and dest.exists():
        _sync_tests(dest)
    else:
        _copy(dest)
        deselect = _baseline_failures(dest, tests)
        for t in deselect:
            print(f"[{name}] deselected (fails before mutation): {t}", flush=True)
        _configure(dest, modules, tests, deselect)
    print(f"[{name}] progress: tail -c 300 {dest / 'mutmut.log'}", flush=True)
    with open(dest / "mutmut.log", "ab") as log:
        children = a.max_children or MAX_CHILDREN[name]
        print(f"[{name}] {children} mutants at once", flush=True)
        subprocess.run([str(Path(sys.executable).parent / "mutmut"), "run", "--max-children", str(children),
                        *names], cwd=dest, env=_env(dest), stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    by_status = _results(dest, names)
    shutil.rmtree(_temproot(dest), ignore_errors=True)
    killed = len(by_status.get("killed", [])) + len(by_status.get("timeout", []))
    # a mutant no test reaches ("no tests") is as alive as one that survived them: counted so
    survived = by_status.get("survived", []) + by_status.get("no tests", [])
    other = {k: len(v) for k, v in by_status.items() if k not in ("killed", "timeout", "survived", "no tests")}
    if set(by_status) <= {"not checked"}:
        print(f"[{name}] MUTMUT DID NOT RUN the mutants (a flaky test in the stats run?): see {dest / 'mutmut.log'}",
              flush=True)
    for n in survived:
        print(f"[{name}] survived: {n}", flush=True)
    (dest / "survivors.txt").write_text("".join(f"{n}\n" for n in survived))
    print(f"[{name}] killed {killed} (timeouts {len(by_status.get('timeout', []))}), survived {len(survived)}, "
          f"other {other}, in {wall / 60:.1f} min; see one with: cd {dest} && mutmut show NAME", flush=True)
    return {"group": name, "mutants": killed + len(survived) + sum(other.values()), "killed": killed,
            "timeouts": len(by_status.get("timeout", [])), "survived": len(survived), "other": other,
            "wall_min": round(wall / 60, 2), "workdir": str(dest)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group", nargs="*", default=list(GROUPS), choices=list(GROUPS), help="which groups (default: all)")
    ap.add_argument("--only", nargs="*", default=[], help="module paths or globs instead of a group's (one group)")
    ap.add_argument("--tests", nargs="*", default=[], help="test paths instead of a group's")
    ap.add_argument("--workdir", default="/tmp/orchestra-mutation", help="one folder per group under it")
    ap.add_argument("--max-children", type=int, default=None, help="mutants at once (default: MAX_CHILDREN)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the workdir's results (mutmut resumes), with the working tree's tests synced in")
    ap.add_argument("--names", help="a file of mutant names (one a line), e.g. an earlier survivors.txt")
    a = ap.parse_args(argv)
    names = [n.strip() for n in Path(a.names).read_text().splitlines() if n.strip()] if a.names else []
    if names:
        print(f"only the mutants: {', '.join(names[:10])}{' ...' if len(names) > 10 else ''} ({len(names)})", flush=True)
    t0 = time.perf_counter()
    rows = []
    for group in a.group:
        modules, tests = GROUPS[group]
        modules = _modules(a.only or modules)
        tests = [t for t in (a.tests or tests) if (ROOT / t).exists()]
        prefixes = tuple(m[:-3].replace("/", ".").removesuffix(".__init__") + "." for m in modules)
        mine = [n for n in names if n.startswith(prefixes)]
        if names and not mine:
            continue
        rows.append(run_group(group, modules, tests, Path(a.workdir) / group, a, mine))
    killed, survived = sum(r["killed"] for r in rows), sum(r["survived"] for r in rows)
    print(f"survivors, each killed by a test or explained: tests/mutation/SURVIVORS.md", flush=True)
    print(json.dumps({"tool": "mutmut", "groups": rows, "mutants": sum(r["mutants"] for r in rows), "killed": killed,
                      "timeouts": sum(r["timeouts"] for r in rows), "survived": survived,
                      "score": round(killed / (killed + survived), 4) if killed + survived else None,
                      "wall_min": round((time.perf_counter() - t0) / 60, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
