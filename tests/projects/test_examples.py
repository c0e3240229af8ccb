"""The example projects (projects/*.flow.json), one per orchestration pattern.

Each runs headless in mock mode through the real executor and must not only produce its
outputs but show its pattern in the event stream: the chain's order, the searches
overlapping, the route taken and the handlers skipped, the loop's iterations, the
fan-out's instances, the redaction before the approval. Each also validates clean, saves
byte for byte as it loads, passes its own flow tests through ``orchestra test``, and runs
unchanged through real litellm against the loopback OpenAI-compatible server (no mock
mode), so nothing in them works only in mock mode.

Every run works on a copy of projects/ in tmp_path: the flows write files (safe_email's
outbox) and the repository must stay clean.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from studio.core.catalogue.context import ApprovalDecision
from studio.core.running.executor import RunOptions, start_run
from studio.core.document.flowfile import dumps, load_flow, save_flow
from studio.core.sharing.flowtests import cases_of
from studio.core.document.validation import validate

REPO_PROJECTS = Path(__file__).resolve().parents[2] / "projects"
EXAMPLES = ["meeting_notes", "research_assistant", "support_router", "code_fixer", "research_report", "safe_email"]
NODE_WIDTH = 210.0  # the canvas's default (studio/ui/canvas/node_item.py)


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ORCHESTRA_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def projects(tmp_path) -> Path:
    """A copy of projects/ (without anything a manual run wrote) to run the flows in."""
    target = tmp_path / "projects"
    shutil.copytree(REPO_PROJECTS, target, ignore=shutil.ignore_patterns("outbox", "__pycache__"))
    return target


def flow_path(name: str, folder: Path = REPO_PROJECTS) -> Path:
    return folder / f"{name}.flow.json"


async def run_flow(path: Path, inputs: dict[str, Any] | None = None, decide=None, **options: Any):
    """Run a flow file in mock mode; returns (result, events, approval requests)."""
    requests = []

    async def handler(req):
        requests.append(req)
        return decide(req) if decide else ApprovalDecision("approve", by="test")

    options.setdefault("mock", True)
    run = start_run(load_flow(path), RunOptions(inputs=dict(inputs or {}), trace=None, approval_handler=handler,
                                                **options))
    events = [e async for e in run.events()]
    return run.result, events, requests


def of(events, kind: str, node: str | None = None) -> list:
    return [e for e in events if e.type == kind and (node is None or e.node == node)]


def index_of(events, kind: str, node: str, scope: tuple = ()) -> int:
    return next(i for i, e in enumerate(events) if e.type == kind and e.node == node and e.scope == scope)


def params_of(name: str, node: str) -> dict[str, Any]:
    return load_flow(flow_path(name)).nodes[node].params


# -- every project ---------------------------------------------------------------------


def test_every_pattern_has_its_project():
    assert {p.name for p in REPO_PROJECTS.glob("*.flow.json")} >= {f"{n}.flow.json" for n in EXAMPLES}


@pytest.mark.parametrize("name", EXAMPLES)
def test_validates_clean_and_saves_byte_identically(name, tmp_path):
    path = flow_path(name)
    model = load_flow(path)
    assert [str(p) for p in validate(model)] == []  # no errors, no warnings
    assert dumps(model).encode("utf-8") == path.read_bytes()
    copy = tmp_path / path.name
    save_flow(model, copy)
    assert copy.read_bytes() == path.read_bytes()


def _node_height(model, nid: str) -> float:
    """The canvas's node height (node_item.rebuild): header, summary line, one row per port."""
    node = model.nodes[nid]
    nt = model.node_type(nid)
    params = {**nt.default_params(), **node.params}
    rows = max(len(nt.input_ports(params, model.base_dir)), len(nt.output_ports(params, model.base_dir)))
    return 26 + (20 if nt.summary(params) else 0) + rows * 20 + (6 if rows else 0)


@pytest.mark.parametrize("name", EXAMPLES)
def test_is_a_complete_example(name):
    model = load_flow(flow_path(name))
    assert model.name and len(model.description) > 60
    inputs = [n for n in model.nodes.values() if n.type == "input"]
    outputs = [n for n in model.nodes.values() if n.type == "output"]
    assert inputs and outputs
    assert all(n.params.get("default") not in (None, "") and n.params.get("description") for n in inputs)
    assert model.notes and all(len(n.text) > 100 for n in model.notes.values())
    assert cases_of(model.meta), "a tests section with flow test cases"
    for node in model.nodes.values():
        assert node.title, node.id
        if node.type in ("llm", "agent") or (node.type == "branch" and node.params.get("mode") == "model"):
            assert node.params.get("mock_responses"), f"{node.id} needs mock responses"
            assert node.params.get("model") == "gpt-4o-mini", node.id  # a real model, no mock-only names
        if node.type in ("llm", "agent"):
            assert len(node.params.get("system", "")) > 80, f"{node.id} deserves a real system prompt"
    # tidy: nothing overlaps (nodes at the canvas's size, sticky notes at theirs)
    boxes = [(nid, n.x, n.y, NODE_WIDTH, _node_height(model, nid)) for nid, n in model.nodes.items()]
    boxes += [(n.id, n.x, n.y, n.width, n.height) for n in model.notes.values()]
    for i, (a, ax, ay, aw, ah) in enumerate(boxes):
        for b, bx, by, bw, bh in boxes[i + 1:]:
            apart = ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay
            assert apart, f"{name}: {a} overlaps {b}"
    xs = sorted({n.x for n in model.nodes.values()})
    assert all(b - a >= 250 for a, b in zip(xs, xs[1:])), f"{name}: columns too close: {xs}"


def test_orchestra_test_passes_for_every_project(projects, capsys):
    from studio.cli import main

    paths = [str(flow_path(n, projects)) for n in EXAMPLES]
    assert main(["test", *paths, "--mock"]) == 0
    out = capsys.readouterr().out
    total = sum(len(cases_of(load_flow(p).meta)) for p in paths)
    assert f"{total} passed, 0 failed" in out and "FAIL" not in out
    assert (projects / "safe_email" / "outbox" / "ready_to_send.txt").is_file()  # written in the copy


# -- 1. sequential -----------------------------------------------------------------------


async def test_meeting_notes_runs_as_a_chain(projects):
    result, events, _ = await run_flow(flow_path("meeting_notes", projects))
    assert result.ok, result.error
    chain = ["transcript", "summarize", "extract_actions", "format_notes", "notes"]
    started = [e.node for e in of(events, "node_started")]
    assert [n for n in started if n in chain] == chain and len(started) == 6
    for before, after in zip(chain, chain[1:]):  # each step starts only once the one before it has finished
        assert index_of(events, "node_finished", before) < index_of(events, "node_started", after)
    items = result.outputs["action_items"]
    assert [i["owner"] for i in items] == ["Marco", "Aisha", "Lena", "Marco"]
    notes = result.outputs["notes"]
    assert notes.startswith("# Meeting notes\n\n## Summary\n- Decision:")
    assert notes.count("- [ ] **") == 4 and "(due Wednesday 6 pm)" in notes
    assert notes.rstrip().endswith("stop landing in spam")  # no "(due ...)" when none was given


# -- 2. parallel -------------------------------------------------------------------------

SEARCHES = ("search_docs", "search_notes", "search_table")


def _has_path(model, a: str, b: str) -> bool:
    todo, seen = [a], set()
    while todo:
        n = todo.pop()
        if n == b:
            return True
        if n not in seen:
            seen.add(n)
            todo += [e.dst for e in model.edges if e.src == n]
    return False


async def test_research_assistant_searches_three_sources_at_once(projects):
    model = load_flow(flow_path("research_assistant", projects))
    for a in SEARCHES:
        for b in SEARCHES:
            assert a == b or not _has_path(model, a, b)
    result, events, _ = await run_flow(flow_path("research_assistant", projects))
    assert result.ok, result.error
    last_start = max(index_of(events, "node_started", s) for s in SEARCHES)
    first_end = min(index_of(events, "node_finished", s) for s in SEARCHES)
    assert last_start < first_end, "the three searches did not overlap"
    assert index_of(events, "node_started", "answer") > max(index_of(events, "node_finished", s) for s in SEARCHES)
    hits = {s: of(events, "node_finished", s)[0].data["outputs"]["result"] for s in SEARCHES}
    assert {h["path"].split("/")[1] for s in SEARCHES for h in hits[s]} == {"docs", "notes", "data"}
    assert all(h["path"].startswith("research_assistant/docs/") for h in hits["search_docs"])
    assert hits["search_table"][0]["text"].startswith("request_id,")  # the header row comes along
    assert result.outputs["evidence"].startswith("Matched 13 documentation lines, 5 note lines and 5 table rows")
    assert "[research_assistant/docs/data-retention.md:13]" in result.outputs["answer"]


# -- 3. conditional ----------------------------------------------------------------------

HANDLERS = ("billing", "technical", "general")


@pytest.mark.parametrize("message,route,classified", [
    ("I was charged twice for my March invoice, can I get a refund?", "billing", False),
    ("Our payment failed and the subscription fee went up. Why?", "billing", False),
    ("The desktop app crashes every time I open a project.", "technical", False),
    ("Since this morning I cannot log in on my phone.", "technical", False),
    ("Do you offer onboarding training for new teams?", "general", True),
    ("Who founded Northwind, and where is your office?", "general", True),
])
async def test_support_router_takes_one_route_and_skips_the_others(projects, message, route, classified):
    result, events, _ = await run_flow(flow_path("support_router", projects), {"message": message})
    assert result.ok, result.error
    assert result.outputs["route"] == route
    assert result.outputs["reply"] == params_of("support_router", route)["mock_responses"][0]
    assert [e.node for e in of(events, "node_finished") if e.node in HANDLERS] == [route]
    assert sorted(e.node for e in of(events, "node_skipped") if e.node in HANDLERS) == sorted(set(HANDLERS) - {route})
    # obvious messages never reach the model classifier (no cost); the others do
    assert bool(of(events, "node_finished", "classify")) is classified
    assert bool(of(events, "node_skipped", "classify")) is not classified
    triage = of(events, "node_finished", "triage")[0].data["outputs"]["route"]
    assert triage == ("default" if classified else route)


# -- 4. loop -----------------------------------------------------------------------------


async def test_code_fixer_loops_until_the_code_passes(projects):
    result, events, _ = await run_flow(flow_path("code_fixer", projects))
    assert result.ok, result.error
    assert result.outputs["attempts"] == 2 and result.outputs["gave_up"] is False
    runs = of(events, "node_finished", "run")
    assert [e.scope for e in runs] == [(("fix", 1),), (("fix", 2),)]  # run_python ran twice, once per iteration
    first, second = (e.data["outputs"]["result"] for e in runs)
    assert first["exit_code"] != 0 and "AssertionError: 18000" in first["stderr"]
    assert second["exit_code"] == 0
    routes = [e.data["outputs"]["route"] for e in of(events, "node_finished", "check")]
    assert routes == ["failed", "passed"]
    # iteration 2's writer saw iteration 1's error as feedback
    fed = [e.data["inputs"]["feedback"] for e in of(events, "node_started", "write")]
    assert fed[0].startswith("status: first attempt") and "AssertionError: 18000" in fed[1]
    report = result.outputs["result"]
    assert report.startswith("status: passed\n")
    working = params_of("code_fixer", "write")["mock_responses"][1].strip()  # attempt 2, as the model wrote it
    assert f"Code:\n```python\n{working}\n```\n" in report
    assert report.rstrip().endswith("45s = 45 s\n1h30m = 5400 s\n2h 5m 10s = 7510 s\n1.5h = 5400 s")


# -- 5. orchestrator-worker ----------------------------------------------------------------


async def test_research_report_fans_out_one_worker_per_subtopic(projects):
    result, events, _ = await run_flow(flow_path("research_report", projects))
    assert result.ok, result.error
    outline = result.outputs["outline"]
    assert isinstance(outline, list) and len(outline) == 4
    workers = of(events, "node_finished", "research")
    assert sorted(e.scope for e in workers) == [(("each", i),) for i in range(4)]
    assert {e.data["inputs"]["subtopic"] for e in of(events, "node_started", "research")} == set(outline)
    assert of(events, "node_started", "write")[0].scope == ()
    sections = result.outputs["sections"]
    assert [s.split("\n", 1)[0] for s in sections] == [f"## {t}" for t in outline]  # in the plan's order
    assert result.outputs["report"].startswith("# The four-day work week")
    fanout = [e.data for e in of(events, "node_progress", "each") if e.data.get("kind") == "fanout"]
    assert fanout[-1] == {"kind": "fanout", "done": 4, "failed": 0, "total": 4}


# -- 6. best practices ---------------------------------------------------------------------

OUTBOX = Path("safe_email") / "outbox" / "ready_to_send.txt"
RAW_PII = ("dana.reyes@example.com", "+1 415 555 0142", "415 555 0142")


async def test_safe_email_masks_personal_data_before_approval_then_writes(projects):
    result, events, requests = await run_flow(flow_path("safe_email", projects))
    assert result.ok, result.error
    assert len(requests) == 1
    shown = requests[0].value
    assert "[email]" in shown and "[phone]" in shown
    assert not any(p in shown for p in RAW_PII)
    assert any(p in of(events, "node_finished", "draft")[0].data["outputs"]["text"] for p in RAW_PII)  # the model leaked
    assert index_of(events, "node_finished", "check_draft") < index_of(events, "approval_requested", "approve")
    assert not any(p in requests[0].message for p in RAW_PII)
    written = (projects / OUTBOX).read_text(encoding="utf-8")
    assert written == shown == result.outputs["email"]
    assert result.outputs["saved"]["path"] == OUTBOX.as_posix()


async def test_safe_email_writes_what_the_reviewer_edited(projects):
    edited = "Subject: Your order #4417\n\nHi Dana, it is on its way. Sorry for the wait!"
    result, _, _ = await run_flow(flow_path("safe_email", projects),
                                  decide=lambda req: ApprovalDecision("approve", value=edited, by="test"))
    assert result.ok, result.error
    assert (projects / OUTBOX).read_text(encoding="utf-8") == edited


async def test_safe_email_rejected_writes_no_file(projects):
    result, events, requests = await run_flow(
        flow_path("safe_email", projects), decide=lambda req: ApprovalDecision("reject", reason="tone", by="test"))
    assert result.ok, result.error
    assert len(requests) == 1
    assert of(events, "node_skipped", "save") and not of(events, "node_started", "save")
    assert not (projects / "safe_email" / "outbox").exists()
    assert "saved" not in result.outputs and "email" not in result.outputs
    assert result.outputs["decision"]["action"] == "reject"
    assert "[phone]" in result.outputs["not_sent"]


@pytest.mark.parametrize("request_text,problem", [
    ("Ask Sam to confirm his password so we can verify his order.", "blocked words: password"),
    ("Offer Lee a gift card instead of the refund.", "blocked words: gift card"),
    ("Thank the customer. " * 100, "more than the limit of 1500"),
])
async def test_safe_email_refuses_bad_requests_before_any_model_call(projects, request_text, problem):
    result, events, requests = await run_flow(flow_path("safe_email", projects), {"request": request_text})
    assert result.ok, result.error
    assert problem in result.outputs["blocked"]
    assert of(events, "node_skipped", "draft") and not of(events, "node_started", "draft")
    assert requests == [] and result.totals["cost_usd"] == 0
    assert not (projects / "safe_email" / "outbox").exists()


# -- the real path: no mock mode, real litellm, a loopback OpenAI-compatible server ---------


def _replies_from_the_flows(folder: Path):
    """A server-side model that answers each request as the flow's mock response says.

    It recognises the asking node by its system prompt, so the flows run through the real
    provider path (litellm, HTTP, streaming, JSON schemas as sent to OpenAI) unchanged.
    """
    from support.mock_openai import Reply

    nodes = []
    for name in EXAMPLES:
        for node in load_flow(flow_path(name, folder)).nodes.values():
            if node.type == "llm":
                nodes.append(node.params)

    def reply(seen) -> Reply:
        messages = seen.body["messages"]
        system = messages[0]["content"] if messages[0]["role"] == "system" else ""
        user = messages[-1]["content"]
        if system.startswith("You are a router."):
            return Reply.text("general")
        params = next(p for p in nodes if p.get("system") and system.startswith(p["system"]))
        responses = params["mock_responses"]
        answer = responses[0] if "status: first attempt" in user or len(responses) == 1 else responses[1]
        if isinstance(answer, str):
            return Reply.text(answer)
        schema = seen.body["response_format"]["json_schema"]["schema"]
        assert schema["type"] == "object"  # OpenAI refuses any other root: a list is sent wrapped
        return Reply.text(json.dumps({"value": answer} if list(schema["properties"]) == ["value"] else answer))

    return reply


@pytest.mark.parametrize("name", EXAMPLES)
async def test_runs_for_real_against_an_openai_compatible_server(name, projects, mock_openai):
    mock_openai.on_model("gpt-4o-mini", _replies_from_the_flows(projects))
    expected, _, _ = await run_flow(flow_path(name, projects))
    real, events, _ = await run_flow(flow_path(name, projects), mock=False,
                                     settings={"api_base": mock_openai.base_url})
    assert real.ok, real.error
    assert real.outputs == expected.outputs
    calls = sum(1 for e in of(events, "node_progress") if e.data.get("kind") == "cost")
    assert mock_openai.count == calls > 0
    assert not [e for e in of(events, "node_failed")]  # no retries: every reply was accepted first time
    assert real.totals["cost_usd"] > 0
