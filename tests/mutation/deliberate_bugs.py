"""Put each deliberate bug of issue 18 into a scratch copy and show which tests catch it.

Why: a green suite proves only what its tests can fail on. Each entry below is a bug a
reviewer would plausibly write (or a refactor would plausibly introduce); the script
copies the repository to a temporary folder, applies ONE bug there (the working tree is
never touched), runs the chosen test files against the copy, and prints
"bug -> failing tests". A bug that no test catches is a hole in the suite.

Usage (not part of CI; about a minute per bug on a 2-core machine):

    .venv/bin/python tests/mutation/deliberate_bugs.py            # every bug
    .venv/bin/python tests/mutation/deliberate_bugs.py merge_last # one by name

Each bug is (file, exact text, replacement); when the code moves (the executor now lives in
studio/core/running/engine/), update the file and the text here: the script
stops with "pattern not found" rather than pass silently.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = "studio/core/running/engine"
RUN = f"{ENGINE}/run.py"
STEP = f"{ENGINE}/step.py"
SCOPES = f"{ENGINE}/scopes.py"
FANOUT = f"{ENGINE}/kinds/fanout.py"
LOOP = f"{ENGINE}/kinds/loop.py"
SUBFLOW = f"{ENGINE}/kinds/subflow.py"
PLAN = "studio/core/running/plan.py"
RETRY = "studio/core/running/retry.py"

# the tests run against every bug (kept short: the guarantee and corpus suites)
TESTS = ["tests/guarantees", "tests/corpus"]


@dataclass(frozen=True)
class Bug:
    name: str
    what: str
    file: str
    old: str
    new: str


BUGS = [
    Bug("fanout_finish_order", "Fan-out collects results in finishing order instead of input order", FANOUT,
        'results[i] = read_edge(child, res_edge)',
        'results[counts["done"] + counts["failed"]] = read_edge(child, res_edge)'),
    Bug("no_budget_check", "The executor's budget check before a paid node removed", STEP,
        "    if spec.paid:\n        try:\n            run.check_budget()",
        "    if False:\n        try:\n            run.check_budget()"),
    Bug("merge_source_input_1", "Merge's source port always reports input_1", "nodes/merge.py",
        'return {"value": value, "source": name}', 'return {"value": value, "source": "input_1"}'),
    Bug("no_subflow_depth_guard", "The subflow nesting-depth guard removed", SUBFLOW,
        "if frame.depth + 1 > MAX_SUBFLOW_DEPTH:", "if False:"),
    Bug("merge_last", "Merge takes the last input", "nodes/merge.py",
        "for name in merge_port_names(ctx.params):", "for name in reversed(merge_port_names(ctx.params)):"),
    Bug("branch_last_match", "Branch lets the last matching case win", "nodes/branch.py",
        "    for case in cases:\n        when", "    for case in reversed(cases):\n        when"),
    Bug("loop_no_cap", "The loop's max_iterations cap ignored", LOOP,
        "if iteration >= max_it:", "if iteration >= 10 * max_it:"),
    Bug("error_port_ignored", "A wired error port does not catch the failure", STEP,
        "if spec.error_wired:", "if False:"),
    Bug("skip_not_propagated", "SKIP on a required input does not skip the node", RUN,
        "                elif port is not None and port.required:\n                    skip = True",
        "                elif port is not None and port.required:\n                    skip = False"),
    Bug("one_retry_short", "One retry fewer than asked", STEP,
        "if attempt <= policy.retries and is_retryable(exc):", "if attempt < policy.retries and is_retryable(exc):"),
    Bug("retry_after_ignored", "Retry-After from the provider ignored", RETRY,
        "if isinstance(after, (int, float)) and after >= 0:", "if False:"),
    Bug("cancel_leaves_tasks", "A scope does not cancel its child tasks when it ends", SCOPES,
        "            for t in list(tasks):\n                t.cancel()\n            await asyncio.gather",
        "            for t in list(tasks):\n                pass\n            await asyncio.gather"),
    Bug("fanout_concurrency_ignored", "Fan-out concurrency not bounded", FANOUT,
        "gate = Slots(conc) if 0 < conc < n else None", "gate = None"),
]


def _copy_tree(dest: Path) -> None:
    for part in ("studio", "nodes", "tests", "projects", "resources", "pyproject.toml"):
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__", "mutants", ".venv"))
        elif src.exists():
            shutil.copy2(src, dest / part)


def _pytest(dest: Path, tests: list[str]) -> tuple[int, list[str], str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=120", "-o", "addopts=", "-rf", *tests]
    proc = subprocess.run(cmd, cwd=dest, capture_output=True, text=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(dest)})
    failed = sorted(set(re.findall(r"^FAILED (\S+?)(?: - |$)", proc.stdout, re.M)))
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    return proc.returncode, failed, summary


def baseline(tests: list[str]) -> list[str]:
    """Tests that fail with no bug put in (e.g. waiting for a fix on main): not a catch."""
    with tempfile.TemporaryDirectory(prefix="bug-baseline-") as tmp:
        _copy_tree(Path(tmp))
        return _pytest(Path(tmp), tests)[1]


def run_bug(bug: Bug, tests: list[str], already_failing: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bug-{bug.name}-") as tmp:
        dest = Path(tmp)
        _copy_tree(dest)
        target = dest / bug.file
        text = target.read_text(encoding="utf-8")
        if text.count(bug.old) != 1:
            return {"bug": bug.name, "error": f"pattern not found once in {bug.file} (found {text.count(bug.old)})"}
        target.write_text(text.replace(bug.old, bug.new), encoding="utf-8")
        code, failed, summary = _pytest(dest, tests)
        if code not in (0, 1):  # 2-5: interrupted, usage error, no tests: not a verdict
            return {"bug": bug.name, "error": f"pytest exit {code}: {summary}"}
        new = [t for t in failed if t not in already_failing]
        return {"bug": bug.name, "what": bug.what, "caught": bool(new), "failing": new, "summary": summary}


def main(argv: list[str]) -> int:
    chosen = [b for b in BUGS if not argv or b.name in argv]
    tests = [t for t in TESTS if (ROOT / t).exists()]
    already = baseline(tests)
    for t in already:
        print(f"fails with no bug (not counted as a catch): {t}", flush=True)
    rows = []
    for bug in chosen:
        row = run_bug(bug, tests, already)
        rows.append(row)
        mark = "CAUGHT" if row.get("caught") else ("ERROR " if "error" in row else "MISSED")
        print(f"{mark} {bug.name}: {row.get('summary') or row.get('error')}", flush=True)
        for t in row.get("failing", [])[:40]:
            print(f"    {t}", flush=True)
    print(json.dumps({"bugs": len(rows), "caught": sum(bool(r.get("caught")) for r in rows),
                      "missed": [r["bug"] for r in rows if not r.get("caught")]}))
    return 0 if all(r.get("caught") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
