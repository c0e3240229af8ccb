"""Streaming readers (JSONL, CSV, Parquet) and the column mapping's errors."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from studio.batch.dataset import BadRow, Dataset, DatasetError
from studio.batch.evaluate import evaluate, parse_column
from studio.batch.mapping import MappingError, RowDataError, build_mapping, parse_maps
from studio.core.document.flowfile import load_flow
from studio.core.running.plan import compile_plan

from .conftest import echo_flow, write_jsonl


def test_jsonl_rows_are_numbered_blank_lines_skipped_bad_lines_kept(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"a": 1}, "", "not json", "[1, 2]", {"a": 2, "b": "x"}])
    ds = Dataset(path)
    rows = list(ds.rows())
    assert [i for i, _ in rows] == [0, 1, 2, 3]
    assert rows[0][1] == {"a": 1}
    assert isinstance(rows[1][1], BadRow) and "line 3 is not valid JSON" in rows[1][1].error
    assert isinstance(rows[2][1], BadRow) and "JSON list" in rows[2][1].error
    assert rows[3][1] == {"a": 2, "b": "x"}
    assert ds.columns() == ["a", "b"]
    assert ds.count() == 4
    assert [i for i, _ in ds.rows(start=2)] == [2, 3]


def test_csv_header_bom_quotes_short_and_long_lines(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('\ufeffmessage,expected.reply\n"hello, ""you""",plain: x\nshort\n\na,b,c\n', encoding="utf-8")
    ds = Dataset(path)
    assert ds.columns() == ["message", "expected.reply"]
    rows = list(ds.rows())
    assert rows[0] == (0, {"message": 'hello, "you"', "expected.reply": "plain: x"})
    assert rows[1] == (1, {"message": "short"})
    assert isinstance(rows[2][1], BadRow) and "3 cells but the header has 2" in rows[2][1].error
    assert ds.count() == 3


def test_parquet_streams_in_batches_and_starts_mid_file(tmp_path):
    path = tmp_path / "d.parquet"
    n = 2000
    table = pa.table({"message": [f"m{i}" for i in range(n)], "n": list(range(n))})
    pq.write_table(table, path, row_group_size=300)
    ds = Dataset(path)
    assert ds.columns() == ["message", "n"]
    assert ds.count() == n
    rows = list(ds.rows())
    assert len(rows) == n and rows[1234] == (1234, {"message": "m1234", "n": 1234})
    tail = list(ds.rows(start=1500))
    assert tail[0] == (1500, {"message": "m1500", "n": 1500}) and len(tail) == 500


@pytest.mark.parametrize("name, content, message", [
    ("d.txt", "x", "unknown data file kind '.txt'"),
    ("missing.csv", None, "no such file"),
    ("bad.parquet", "not parquet at all", "not a readable Parquet file"),
    ("empty.csv", "", "no header line"),
])
def test_unreadable_datasets_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        Dataset(path).columns()


def _plan(tmp_path):
    return compile_plan(load_flow(echo_flow(tmp_path / "echo.flow.json")))


def test_columns_map_by_name_and_by_map(tmp_path):
    plan = _plan(tmp_path)
    m = build_mapping(["message", "id"], plan)
    assert m.inputs == {"message": "message"} and m.ignored == ["id"]
    m = build_mapping(["text", "style"], plan, parse_maps(["text=message", "style=tone"]))
    assert m.inputs == {"message": "text", "tone": "style"}
    assert m.inputs_of({"text": "hi"}) == {"message": "hi"}  # tone falls back to its default
    with pytest.raises(RowDataError, match="no value in column 'text' for the required input 'message'"):
        m.inputs_of({"style": "x"})


def test_mapping_errors_name_every_problem(tmp_path):
    plan = _plan(tmp_path)
    with pytest.raises(MappingError) as info:
        build_mapping(["body", "expected.answer"], plan, parse_maps(["body=msg", "nope=tone"]))
    problems = info.value.problems
    assert any("the flow has no input 'msg' (its inputs: message, tone)" in p for p in problems)
    assert any("the data has no column 'nope' (its columns: body, expected.answer)" in p for p in problems)
    assert any("required input 'message' has no column" in p and "--map COLUMN=message" in p for p in problems)
    assert any("expects the output 'answer', which the flow does not have (its outputs: reply)" in p for p in problems)
    with pytest.raises(MappingError, match="expected COLUMN=INPUT"):
        parse_maps(["justone"])


def test_expectation_columns_reuse_the_flow_test_forms():
    outputs = {"reply": "Dear Ada, refund sent", "report": {"items": [{"title": "Intro"}]}, "n": 3}
    cols = [parse_column(c) for c in ("expected.reply.contains", "expected.reply.regex", "expected.report$.items[0].title",
                                      "expected.n", "expected.reply")]
    row = {"expected.reply.contains": "refund", "expected.reply.regex": "^Dear ", "expected.report$.items[0].title": "Intro",
           "expected.n": "3", "expected.reply": json.dumps({"contains": "Ada"})}
    results = evaluate(cols, row, outputs)
    assert [r.ok for r in results] == [True, True, True, True, True], [r.message for r in results]
    row_bad = {"expected.reply.contains": "invoice", "expected.n": "4", "expected.reply": "", "expected.reply.regex": None}
    results = evaluate(cols, row_bad, outputs)
    assert [r.ok for r in results] == [False, False]  # empty cells expect nothing
    assert 'does not contain "invoice"' in results[0].message
