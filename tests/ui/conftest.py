"""Fixtures for the studio's widget tests: offscreen Qt, private settings, no dialogs.

Every test gets its own QSettings file and recovery folder under tmp_path, litellm's
model list is never loaded (it would import litellm in a thread), and the studio's
questions are answered without a modal dialog ("discard" on close unless a test
says otherwise); the trust question and file choosers fail the test unless it answers them.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

PROJECTS = Path(__file__).resolve().parents[2] / "projects"


@pytest.fixture(autouse=True)
def _studio_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_RECOVERY_DIR", str(tmp_path / "recovery"))
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "data"))
    from studio.ui import dialogs
    from studio.ui.model_catalog import ModelCatalog

    monkeypatch.setattr(ModelCatalog, "enabled", False)
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: "discard")
    monkeypatch.setattr(dialogs, "ask_restore", lambda parent, what, when: False)

    def unexpected_error(parent, title, text):
        raise AssertionError(f"unexpected error dialog: {title}: {text}")

    monkeypatch.setattr(dialogs, "error", unexpected_error)

    def unexpected_question(*args, **kwargs):
        raise AssertionError(f"unexpected dialog: {args[1:]}")

    # a modal dialog would hang a headless run: a test that expects one patches it
    from studio.ui import flow_notice, secret_prompt

    monkeypatch.setattr(flow_notice, "ask_trust", unexpected_question)
    monkeypatch.setattr(secret_prompt, "ask_secrets", unexpected_question)
    monkeypatch.setattr(dialogs, "save_file_name", unexpected_question)


@pytest.fixture
def settings(tmp_path, qapp):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "studio.ini"), QSettings.IniFormat)


@pytest.fixture
def window(qtbot, settings, qapp):
    from studio.ui import theme
    from studio.ui.main_window import MainWindow

    qapp.setStyle("Fusion")
    qapp.setStyleSheet(theme.load_stylesheet())
    w = MainWindow(settings, autosave_ms=0)
    qtbot.addWidget(w)
    w.resize(1400, 860)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def hello(tmp_path) -> Path:
    """A private copy of the example flow (tests save over it)."""
    target = tmp_path / "hello.flow.json"
    target.write_bytes((PROJECTS / "hello.flow.json").read_bytes())
    return target


# -- running flows from the window (issue 6) ------------------------------------------

DUMMY_KEY = "sk" "-test-dummy-0123456789abcdef"


@pytest.fixture
def loopback(monkeypatch, tmp_path, settings):
    """The loopback OpenAI-compatible server on its own thread (the studio's runs use their
    own loop thread too), every LLM call of a run sent there, prices for its models."""
    import json

    from support.mock_openai import MockOpenAIThread

    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_KEY)
    cfg = tmp_path / "user-config"
    cfg.mkdir(exist_ok=True)
    monkeypatch.setenv("ORCHESTRA_CONFIG_DIR", str(cfg))
    (cfg / "pricing.json").write_text(json.dumps({"openai/*": {"input_per_1m": 1.0, "output_per_1m": 2.0}}))
    with MockOpenAIThread() as server:
        settings.setValue("run/api_base", server.base_url)
        yield server
