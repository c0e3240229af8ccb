"""`orchestra batch` on the local engine: formats, failures, budget, evaluation, exit codes."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from support.mock_openai import MockOpenAIThread, Reply

from .conftest import echo_flow, read_results, router_flow, write_jsonl

DUMMY_KEY = "sk" "-test-batch-0123456789abcdef"


def test_jsonl_csv_and_parquet_give_the_same_rows(tmp_path, batch_cli):
    flow = echo_flow(tmp_path / "echo.flow.json")
    texts = [f"hello {i}, \"quoted\"" for i in range(25)]
    jsonl = write_jsonl(tmp_path / "d.jsonl", [{"text": t, "id": i} for i, t in enumerate(texts)])
    csv_path = tmp_path / "d.csv"
    csv_path.write_text("id,text\n" + "".join(f'{i},"{t.replace(chr(34), chr(34) * 2)}"\n' for i, t in enumerate(texts)))
    pq.write_table(pa.table({"id": list(range(25)), "text": texts}), tmp_path / "d.parquet", row_group_size=7)
    seen = []
    for data in (jsonl, csv_path, tmp_path / "d.parquet"):
        out = tmp_path / f"{data.suffix[1:]}.results.jsonl"
        code, stdout, err = batch_cli(flow, "--data", data, "--out", out, "--map", "text=message", "--traces", "none")
        assert code == 0, err
        recs = sorted(read_results(out), key=lambda r: r["row"])
        assert [r["row"] for r in recs] == list(range(25))
        seen.append([r["outputs"] for r in recs])
        assert "rows" in stdout and "25" in stdout
    assert seen[0] == seen[1] == seen[2]
    assert seen[0][3] == {"reply": 'plain: hello 3, "quoted"'}


def test_mapping_problems_exit_2_and_name_the_column(tmp_path, batch_cli):
    flow = echo_flow(tmp_path / "echo.flow.json")
    data = write_jsonl(tmp_path / "d.jsonl", [{"body": "x"}])
    code, _, err = batch_cli(flow, "--data", data, "--out", tmp_path / "o.jsonl")
    assert code == 2
    assert "required input 'message' has no column" in err and "(the data's columns: body)" in err
    assert not (tmp_path / "o.jsonl").exists()  # nothing ran, nothing written
    code, _, err = batch_cli(flow, "--data", data, "--map", "bdy=message", "--out", tmp_path / "o.jsonl")
    assert code == 2 and "the data has no column 'bdy'" in err


def test_bad_rows_and_provider_errors_are_recorded_and_the_batch_goes_on(tmp_path, batch_cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    flow = router_flow(tmp_path / "router.flow.json")
    rows = [{"ticket": f"ticket {i}" + (" boom" if i % 4 == 1 else "")} for i in range(12)]
    rows[6] = "{broken"
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    out = tmp_path / "o.jsonl"
    with MockOpenAIThread() as server:
        # a provider that refuses some requests and echoes the key in its error (they do)
        server.on_model("gpt-4o-mini", lambda seen: Reply.bad_request(f"cannot do this with {seen.authorization}")
                        if "boom" in json.dumps(seen.body) else Reply.text("billing"))
        code, stdout, err = batch_cli(flow, "--data", data, "--out", out, "--api-base", server.base_url,
                                      "--concurrency", "3")
    assert code == 1
    recs = {r["row"]: r for r in read_results(out)}
    assert sorted(recs) == list(range(12))
    failed = sorted(i for i, r in recs.items() if r["status"] == "failed")
    assert failed == [1, 5, 6, 9]
    assert "unreadable row" in recs[6]["error"] and "not valid JSON" in recs[6]["error"]
    assert recs[1]["error_node"] == "classify" and "cannot do this" in recs[1]["error"]
    assert recs[0]["outputs"] == {"route": "route=billing"} and recs[0]["tokens_in"] > 0
    text = out.read_text()
    assert DUMMY_KEY not in text and "[redacted]" in text
    for r in recs.values():  # every run's trace exists and holds no key either
        if r["trace"]:
            assert DUMMY_KEY not in open(r["trace"]).read()
    assert "succeeded / failed" in stdout and "8 / 4" in stdout


def test_max_failures_stops_starting_rows(tmp_path, batch_cli):
    flow = echo_flow(tmp_path / "echo.flow.json")
    data = write_jsonl(tmp_path / "d.jsonl", [{"message": None}] * 50)  # every row lacks its required input
    out = tmp_path / "o.jsonl"
    code, _, _ = batch_cli(flow, "--data", data, "--out", out, "--max-failures", "5", "--concurrency", "2", "--traces", "none")
    assert code == 1
    assert 5 <= len(read_results(out)) <= 6  # the rows already running finish


def test_budget_is_one_cap_for_the_whole_batch(tmp_path, batch_cli):
    flow = router_flow(tmp_path / "router.flow.json", mock=["billing"])
    data = write_jsonl(tmp_path / "d.jsonl", [{"ticket": f"t{i}"} for i in range(200)])
    out = tmp_path / "o.jsonl"
    # the price of one row, from a mock run of one
    code, stdout, _ = batch_cli(flow, "--data", data, "--out", tmp_path / "one.jsonl", "--mock", "--limit", "1", "--traces", "none")
    per_row = read_results(tmp_path / "one.jsonl")[0]["cost_usd"]
    assert code == 0 and per_row > 0
    # the summary prints the cost as every run view does: the shared formatter, an estimate when mocked
    from studio.core.running.runstate import fmt_cost

    assert f"{fmt_cost(per_row, estimate=True)} per row" in stdout, stdout
    budget = per_row * 10.5
    code, stdout, err = batch_cli(flow, "--data", data, "--out", out, "--mock", "--budget", repr(budget),
                                  "--concurrency", "4", "--json", "--traces", "none")
    assert code == 3, err
    recs = read_results(out)
    spent = sum(r["cost_usd"] for r in recs)
    assert spent >= budget  # it ran until the cap was reached ...
    assert len(recs) <= 11 + 4  # ... and no row started after that; only running ones finished
    summary = json.loads(stdout)
    assert summary["outcome"] == "budget" and summary["rows"] == len(recs)
    # resuming with the same budget starts nothing: the cost already written counts
    code, stdout, _ = batch_cli(flow, "--data", data, "--out", out, "--mock", "--budget", repr(budget), "--resume",
                                "--json", "--traces", "none")
    assert code == 3 and len(read_results(out)) == len(recs)


def test_evaluation_counts_pass_rate_and_exit_code(tmp_path, batch_cli):
    flow = router_flow(tmp_path / "router.flow.json", mock=["billing"])
    rows = [{"ticket": f"t{i}", "expected.route": "route=billing" if i % 4 else "route=technical",
             "expected.route.contains": "" if i % 3 else "billing"} for i in range(20)]
    rows[7]["expected.route"] = None  # nothing expected of row 7 ...
    rows[7]["expected.route.contains"] = ""
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    out = tmp_path / "o.jsonl"
    code, stdout, _ = batch_cli(flow, "--data", data, "--out", out, "--mock", "--json", "--traces", "none")
    summary = json.loads(stdout)
    assert code == 1
    recs = {r["row"]: r for r in read_results(out)}
    assert recs[7]["passed"] is None  # ... so it is not evaluated
    assert recs[4]["passed"] is False and 'expected "route=technical"' in recs[4]["checks"][0]
    assert recs[3]["passed"] is True and recs[3]["checks"] == []
    assert summary["evaluated"] == 19 and summary["failed_checks"] == 5 and summary["passed"] == 14
    assert summary["pass_rate"] == round(14 / 19, 6)
    assert summary["slowest_node"]["node"] in {"classify", "ticket", "prompt", "label", "route"}
    assert summary["latency_p50_s"] <= summary["latency_p95_s"]
    good = write_jsonl(tmp_path / "good.jsonl", [{"ticket": "x", "expected.route": "route=billing"}] * 3)
    code, _, _ = batch_cli(flow, "--data", good, "--out", tmp_path / "g.jsonl", "--mock", "--traces", "none")
    assert code == 0


def test_existing_results_need_resume_and_bad_numbers_are_refused(tmp_path, batch_cli):
    flow = echo_flow(tmp_path / "echo.flow.json")
    data = write_jsonl(tmp_path / "d.jsonl", [{"message": "a"}, {"message": "b"}])
    out = tmp_path / "o.jsonl"
    assert batch_cli(flow, "--data", data, "--out", out, "--limit", "1")[0] == 0
    code, _, err = batch_cli(flow, "--data", data, "--out", out)
    assert code == 2 and "pass --resume" in err
    assert len(read_results(out)) == 1
    code, _, _ = batch_cli(flow, "--data", data, "--out", out, "--resume")
    assert code == 0 and sorted(r["row"] for r in read_results(out)) == [0, 1]
    for bad in (["--concurrency", "0"], ["--limit", "-1"], ["--budget", "nan"], ["--max-failures", "0"]):
        code, _, err = batch_cli(flow, "--data", data, "--out", tmp_path / "x.jsonl", *bad)
        assert code == 2, bad
    code, _, err = batch_cli(tmp_path / "nope.flow.json", "--data", data)
    assert code == 2 and "nope.flow.json" in err


def test_each_row_trace_replays_its_run(tmp_path, batch_cli):
    from studio.core.running.events import read_trace

    flow = echo_flow(tmp_path / "echo.flow.json")
    data = write_jsonl(tmp_path / "d.jsonl", [{"message": f"m{i}"} for i in range(3)])
    out = tmp_path / "o.jsonl"
    assert batch_cli(flow, "--data", data, "--out", out)[0] == 0
    for r in read_results(out):
        events = read_trace(open(r["trace"], "rb"))
        assert events[0].type == "run_started" and events[-1].type == "run_finished"
        assert events[-1].data["outputs"] == r["outputs"]
