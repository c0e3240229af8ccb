"""Built-in tools: the safe calculator, folder-confined file tools, limited run_python,
http_request against the loopback server, now, and plugin discovery."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from studio.core.errors import NodeFailure, RetryableError
from studio.tools import Tool, ToolContext, ToolRegistry, call_tool, default_tools
from studio.tools.calculator import CalculatorError, evaluate
from studio.tools.files import PathRefused


def tool(name):
    return default_tools().get(name)


@pytest.fixture
def py(tmp_path, user_config):
    """Calls run_python as a trusted flow in ``tmp_path/flow`` would (the code's digest trusted)."""
    from studio.tools.flow_code import FlowCode
    from studio.tools.trust import digest, trust_code

    folder = tmp_path / "flow"
    folder.mkdir()

    async def call(args):
        trust_code([FlowCode("t", "run_python", None, folder, "python", "code", args["code"], digest("python", args["code"]))])
        return await call_tool(tool("run_python"), args, ToolContext(flow_dir=folder))

    return call


# -- calculator -----------------------------------------------------------------------


@pytest.mark.parametrize("expr,value", [
    ("1 + 2 * 3", 7), ("(17.5 * 3) / 4", 13.125), ("2 ** 10", 1024), ("-3 + +4", 1), ("7 // 2", 3), ("7 % 4", 3),
    ("sqrt(16) + abs(-2)", 6.0), ("round(pi, 3)", 3.142), ("max(3, 9, 4)", 9), ("2^3", 8), ("3 > 2", True),
    ("1 < 2 < 3", True),
])
def test_calculator_values(expr, value):
    assert evaluate(expr) == value


@pytest.mark.parametrize("expr", [
    "__import__('os').system('id')", "().__class__.__bases__", "open('/etc/passwd')", "x", "'a' * 3",
    "[1, 2]", "lambda: 1", "9 ** 9 ** 9", "10 ** 100000", "factorial(100000)", "1 / 0", "sqrt(-1)",
    "eval('1')", "(1).real", "",
])
def test_calculator_refuses_everything_else(expr):
    with pytest.raises(CalculatorError):
        evaluate(expr)


def test_calculator_never_uses_eval():
    import inspect

    import studio.tools.calculator as calc

    source = inspect.getsource(calc)
    assert "eval(" not in source.replace("_eval(", "").replace("literal_eval(", "")


# -- files ----------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "flow"
    (root / "data").mkdir(parents=True)
    (root / "notes.md").write_text("Launch plan\nShip on Friday\n")
    (root / "data" / "a.csv").write_text("id,name\n1,Friday report\n")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    return root


async def use(name, args, root):
    return await call_tool(tool(name), args, ToolContext(flow_dir=root))


async def test_read_write_list_search_inside_the_folder(folder):
    assert await use("read_file", {"path": "notes.md"}, folder) == "Launch plan\nShip on Friday\n"
    assert await use("write_file", {"path": "out/report.txt", "content": "done"}, folder) == \
        {"path": "out/report.txt", "bytes": 4, "appended": False}
    await use("write_file", {"path": "out/report.txt", "content": "!", "append": True}, folder)
    assert (folder / "out" / "report.txt").read_text() == "done!"
    assert await use("list_files", {"pattern": "*.csv"}, folder) == ["data/a.csv"]
    assert sorted(await use("list_files", {}, folder)) == ["data/a.csv", "notes.md", "out/report.txt"]
    hits = await use("search_files", {"query": "friday"}, folder)
    assert [(h["path"], h["line"]) for h in hits] == [("notes.md", 2), ("data/a.csv", 2)]
    assert await use("search_files", {"query": r"Ship \w+", "regex": True, "case_sensitive": True}, folder) == \
        [{"path": "notes.md", "line": 2, "text": "Ship on Friday"}]


@pytest.mark.parametrize("path", ["../secret.txt", "data/../../secret.txt", "/etc/passwd", "..", "data/../.."])
async def test_path_traversal_is_refused(folder, path):
    with pytest.raises(PathRefused):
        await use("read_file", {"path": path}, folder)
    with pytest.raises(PathRefused):
        await use("write_file", {"path": path + "/x.txt" if path.endswith("..") else path, "content": "pwned"}, folder)
    assert (folder.parent / "secret.txt").read_text() == "TOP SECRET"
    assert not (folder.parent / "x.txt").exists()


async def test_symlink_escape_is_refused(folder):
    os.symlink(folder.parent / "secret.txt", folder / "link.txt")
    os.symlink(folder.parent, folder / "up")
    with pytest.raises(PathRefused):
        await use("read_file", {"path": "link.txt"}, folder)
    with pytest.raises(PathRefused):
        await use("read_file", {"path": "up/secret.txt"}, folder)
    with pytest.raises(PathRefused):
        await use("write_file", {"path": "up/new.txt", "content": "x"}, folder)
    assert not (folder.parent / "new.txt").exists()
    listed = await use("list_files", {}, folder)
    assert "link.txt" not in listed and not any("secret" in p for p in listed)
    assert all("TOP SECRET" not in h["text"] for h in await use("search_files", {"query": "SECRET"}, folder))


async def test_tools_may_not_write_tool_code_or_flow_files(folder):
    with pytest.raises(PathRefused):
        await use("write_file", {"path": "tools/evil.py", "content": "import os"}, folder)
    with pytest.raises(PathRefused):
        await use("write_file", {"path": "main.flow.json", "content": "{}"}, folder)
    assert not (folder / "tools").exists()


async def test_file_tools_need_a_saved_flow():
    with pytest.raises(NodeFailure, match="save the flow first"):
        await call_tool(tool("read_file"), {"path": "a.txt"}, ToolContext(flow_dir=None))


# -- run_python -----------------------------------------------------------------------


async def test_run_python_captures_output_and_exit_code(py):
    code = "import sys\nprint(input().upper())\nprint('warn', file=sys.stderr)\nsys.exit(3)"
    r = await py({"code": code, "stdin": "hello\n"})
    assert r["stdout"] == "HELLO\n" and r["stderr"].startswith("warn") and r["exit_code"] == 3
    assert r["timed_out"] is False


async def test_run_python_wall_time_limit(py):
    # a 60 s sleep that the 1 s limit must cut short (pytest's own timeout bounds a failure)
    r = await py({"code": "import time\nprint('start', flush=True)\ntime.sleep(60)",
                                             "timeout_s": 1})
    assert r["timed_out"] is True and r["exit_code"] != 0 and r["stdout"] == "start\n"


async def test_run_python_cpu_limit_stops_busy_loops(py):
    r = await py({"code": "while True:\n    pass", "timeout_s": 1})
    assert r["exit_code"] != 0


async def test_run_python_memory_limit(py):
    r = await py({"code": "x = bytearray(800 * 1024 * 1024)\nprint('allocated')",
                                             "memory_mb": 128})
    assert "allocated" not in r["stdout"]
    assert r["exit_code"] != 0 and "MemoryError" in r["stderr"]


async def test_run_python_gets_no_keys_and_a_private_temp_dir(py, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk" "-must-not-leak-123456")
    code = "import os\nprint(os.environ.get('OPENAI_API_KEY'))\nprint(os.getcwd())\nopen('scratch.txt','w').write('x')"
    r = await py({"code": code})
    lines = r["stdout"].splitlines()
    assert lines[0] == "None"
    assert "orchestra-py-" in lines[1] and not os.path.exists(lines[1])  # removed afterwards


async def test_run_python_cancellation_kills_the_process(py):
    marker = f"orq{os.getpid() % 100000}c"  # the sandbox cannot write outside; it names itself instead
    code = f"open('/proc/self/comm', 'w').write({marker!r})\nprint('up', flush=True)\nimport time\ntime.sleep(60)"
    task = asyncio.ensure_future(py({"code": code, "timeout_s": 120}))

    def named():
        found = []
        for d in os.listdir("/proc"):
            try:
                if d.isdigit() and open(f"/proc/{d}/comm").read().strip() == marker:
                    found.append(int(d))
            except OSError:
                pass
        return found

    for _ in range(200):
        if named():
            break
        await asyncio.sleep(0.05)
    assert named()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert named() == []  # gone (and reaped) by the time the cancellation returns


# -- http_request ---------------------------------------------------------------------


async def test_http_get_and_post_json(mock_openai):
    base = mock_openai.base_url
    r = await call_tool(tool("http_request"), {"url": f"{base}/models"})
    assert r["status"] == 200 and r["ok"] and r["json"]["data"][0]["id"] == "gpt-4o-mini"
    r = await call_tool(tool("http_request"), {
        "url": f"{base}/chat/completions", "method": "POST", "headers": {"Authorization": "Bearer t"},
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}]}})
    assert r["json"]["choices"][0]["message"]["content"] == "echo: ping"
    assert mock_openai.requests[-1].authorization == "Bearer t"


async def test_http_error_status_is_an_answer_not_an_exception(mock_openai):
    from support.mock_openai import Reply

    mock_openai.enqueue(Reply.server_error(503))
    r = await call_tool(tool("http_request"), {"url": f"{mock_openai.base_url}/chat/completions", "method": "POST",
                                               "body": {"messages": []}})
    assert r["status"] == 503 and r["ok"] is False


async def test_http_network_trouble_is_retryable(mock_openai):
    from support.mock_openai import Reply

    with pytest.raises(RetryableError):
        await call_tool(tool("http_request"), {"url": "http://127.0.0.1:9/"})
    mock_openai.enqueue(Reply.hanging())
    with pytest.raises(RetryableError, match="within 0.5 s"):
        await call_tool(tool("http_request"), {"url": f"{mock_openai.base_url}/chat/completions", "method": "POST",
                                               "body": {}, "timeout_s": 0.5})


async def test_http_only_http_urls():
    with pytest.raises(NodeFailure, match="only http"):
        await call_tool(tool("http_request"), {"url": "file:///etc/passwd"})


# -- now, schemas, plugins ------------------------------------------------------------


async def test_now_in_a_time_zone():
    r = await call_tool(tool("now"), {"timezone": "Asia/Tokyo"})
    assert r["iso"].endswith("+09:00") and r["timezone"] == "Asia/Tokyo"
    assert abs(r["unix"] - time.time()) < 5
    with pytest.raises(NodeFailure, match="unknown time zone"):
        await call_tool(tool("now"), {"timezone": "Mars/Olympus"})


def test_every_builtin_declares_a_function_schema():
    names = default_tools().names()
    assert names == sorted(["calculator", "http_request", "list_files", "now", "read_file", "run_python",
                            "search_files", "write_file"])
    for t in default_tools().tools():
        fn = t.function_schema()["function"]
        assert fn["name"] == t.name and fn["description"] and fn["parameters"]["type"] == "object"


def test_plugins_from_entry_points(monkeypatch):
    from studio.tools import registry

    def shout(args, ctx):
        return args["text"].upper()

    plugin = Tool("shout", "Upper-case text.", {"type": "object", "properties": {"text": {"type": "string"}}}, shout)

    class EP:
        def __init__(self, name, obj):
            self.name, self.value, self.dist, self._obj = name, f"pkg:{name}", None, obj

        def load(self):
            if isinstance(self._obj, Exception):
                raise self._obj
            return self._obj

    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group: [EP("shout", plugin), EP("broken", ImportError("no module named pkg"))]
                        if group == "orchestra.tools" else [])
    reg = ToolRegistry(registry.BUILTINS)
    reg.discover_plugins()
    assert reg.get("shout") is plugin
    assert len(reg.load_errors) == 1 and "broken" in reg.load_errors[0]
    assert asyncio.run(call_tool(plugin, {"text": "hi"})) == "HI"
