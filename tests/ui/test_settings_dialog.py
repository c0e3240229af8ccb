"""Settings -> API keys: store a key, show where each key comes from, test a key.

Real parts: the dialog's own background threads, the keyring API (an in-memory backend,
this box has no OS keyring; the real headless "fail" backend for the no-keyring case),
and a real HTTP request from "Test" to the loopback OpenAI-compatible server, which
refuses any key but the one it was started with.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton

from support.mock_openai import MockOpenAIThread

GOOD_KEY = "sk" "-settings-good-0123456789abcdef"
BAD_KEY = "sk" "-settings-wrong-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_provider_keys_in_env(monkeypatch):
    from studio.core.userdata.credentials import env_var_for
    from studio.ui.settings_dialog import PROVIDERS

    for provider in PROVIDERS:
        monkeypatch.delenv(env_var_for(provider), raising=False)


@pytest.fixture
def dialog(qtbot, settings):
    from studio.ui.settings_dialog import SettingsDialog

    d = SettingsDialog(settings)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitUntil(lambda: d.source_of("openai") != "…", timeout=10_000)
    yield d
    d.close()


def _status(d) -> str:
    return d.key_status.text()


def test_sources_show_keyring_environment_or_none(qtbot, memory_keyring, monkeypatch, settings):
    from studio.core.userdata.credentials import SERVICE
    from studio.ui.settings_dialog import SettingsDialog

    memory_keyring.set_password(SERVICE, "anthropic", "sk" "-ant-in-the-keyring-0123456789")
    monkeypatch.setenv("GROQ_API_KEY", "gsk" "-in-the-environment-0123456789")
    monkeypatch.setenv("OPENAI_API_KEY", "sk" "-env-loses-to-keyring-0123456789")
    memory_keyring.set_password(SERVICE, "openai", "sk" "-keyring-wins-0123456789")
    d = SettingsDialog(settings)
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: d.source_of("openai") != "…", timeout=10_000)
    assert d.source_of("anthropic") == "keyring"
    assert d.source_of("groq") == "environment (GROQ_API_KEY)"
    assert d.source_of("openai") == "keyring"  # the keyring wins over the environment
    assert d.source_of("mistral") == "none"
    assert "stored in the OS keyring" in d.keyring_note.text()
    shown = " ".join(d.keys.item(r, 1).text() for r in range(d.keys.rowCount()))
    assert "sk-" not in shown and "gsk-" not in shown  # where a key comes from, never the key
    d.close()


def test_saving_a_key_stores_it_in_the_keyring_and_shows_the_new_source(qtbot, memory_keyring, dialog):
    from studio.core.userdata.credentials import SERVICE

    assert dialog.source_of("openai") == "none"
    dialog.key_edits["openai"].setText(f"  {GOOD_KEY}  ")
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        dialog.findChild(QPushButton, "saveKey_openai").click()  # the button a user presses
    assert memory_keyring.get_password(SERVICE, "openai") == GOOD_KEY  # stripped, stored
    assert dialog.key_edits["openai"].text() == ""  # not left in the field
    assert "Saved the openai key in the OS keyring" in _status(dialog)
    qtbot.waitUntil(lambda: dialog.source_of("openai") == "keyring", timeout=10_000)


def test_saving_an_empty_field_stores_nothing(qtbot, memory_keyring, dialog):
    dialog.key_edits["gemini"].setText("   ")
    dialog.save_key("gemini")
    assert "Paste a key for gemini first" in _status(dialog)
    assert memory_keyring.store == {} or all(user != "gemini" for _, user in memory_keyring.store)


def test_deleting_a_key_falls_back_to_the_environment(qtbot, memory_keyring, monkeypatch, dialog):
    from studio.core.userdata.credentials import SERVICE

    memory_keyring.set_password(SERVICE, "openai", GOOD_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk" "-from-env-0123456789abcdef")
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        dialog.delete_key("openai")
    assert memory_keyring.get_password(SERVICE, "openai") is None
    assert "Deleted the openai key" in _status(dialog)
    qtbot.waitUntil(lambda: dialog.source_of("openai") == "environment (OPENAI_API_KEY)", timeout=10_000)


def test_a_typed_key_is_tested_against_the_server_and_a_wrong_one_is_refused(qtbot, memory_keyring, settings):
    from studio.ui.settings_dialog import SettingsDialog

    with MockOpenAIThread(require_key=GOOD_KEY) as server:
        settings.setValue("run/api_base", server.base_url)
        d = SettingsDialog(settings)
        qtbot.addWidget(d)
        d.key_edits["openai"].setText(GOOD_KEY)
        d.test_key("openai")
        qtbot.waitUntil(lambda: "connected" in _status(d) or "✗" in _status(d), timeout=15_000)
        assert _status(d) == "openai: ✓ connected (HTTP 200)"
        d.key_edits["openai"].setText(BAD_KEY)
        d.test_key("openai")
        qtbot.waitUntil(lambda: len(server.model_list_auth) == 2 and not _status(d).startswith("Testing"), timeout=15_000)
        assert _status(d) == "openai: ✗ the server refused the key (HTTP 401)"
        assert server.model_list_auth == [f"Bearer {GOOD_KEY}", f"Bearer {BAD_KEY}"]
        assert memory_keyring.store == {}  # testing stores nothing
        d.close()


def test_the_stored_key_is_tested_when_the_field_is_empty(qtbot, memory_keyring, settings):
    from studio.core.userdata.credentials import SERVICE
    from studio.ui.settings_dialog import SettingsDialog

    memory_keyring.set_password(SERVICE, "openai", GOOD_KEY)
    with MockOpenAIThread(require_key=GOOD_KEY) as server:
        settings.setValue("run/api_base", server.base_url)
        d = SettingsDialog(settings)
        qtbot.addWidget(d)
        d.test_key("openai")
        qtbot.waitUntil(lambda: "connected" in _status(d) or "✗" in _status(d), timeout=15_000)
        assert _status(d) == "openai: ✓ connected (HTTP 200)"
        assert server.model_list_auth == [f"Bearer {GOOD_KEY}"]
        d.close()


def test_testing_with_no_key_anywhere_says_so_without_a_request(qtbot, memory_keyring, settings):
    from studio.ui.settings_dialog import SettingsDialog

    with MockOpenAIThread(require_key=GOOD_KEY) as server:
        settings.setValue("run/api_base", server.base_url)
        d = SettingsDialog(settings)
        qtbot.addWidget(d)
        d.test_key("openai")
        qtbot.waitUntil(lambda: "✗" in _status(d) or "✓" in _status(d), timeout=15_000)
        assert _status(d) == "openai: ✗ no key for openai (keyring, environment or the field)"
        assert server.model_list_auth == []
        d.close()


def test_an_unreachable_server_is_reported_not_raised(qtbot, memory_keyring, settings):
    from studio.ui.settings_dialog import SettingsDialog

    with MockOpenAIThread() as server:
        url = server.base_url
    settings.setValue("run/api_base", url)  # the server is gone: connection refused
    d = SettingsDialog(settings)
    qtbot.addWidget(d)
    d.key_edits["openai"].setText(GOOD_KEY)
    d.test_key("openai")
    qtbot.waitUntil(lambda: "✗" in _status(d) or "✓" in _status(d), timeout=15_000)
    assert _status(d).startswith("openai: ✗ cannot reach http://127.0.0.1:")
    d.close()


def test_without_a_keyring_the_dialog_says_so_and_never_stores_the_key_elsewhere(qtbot, settings, tmp_path):
    import keyring
    from keyring.backends.fail import Keyring as FailKeyring

    from studio.core.userdata import credentials
    from studio.ui.settings_dialog import SettingsDialog

    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    credentials.forget_cached()
    try:
        d = SettingsDialog(settings)
        qtbot.addWidget(d)
        qtbot.waitUntil(lambda: d.source_of("openai") != "…", timeout=10_000)
        assert "cannot be used here" in d.keyring_note.text()
        assert "never writes keys to a plain file" in d.keyring_note.text()
        d.key_edits["openai"].setText(GOOD_KEY)
        d.save_key("openai")
        qtbot.waitUntil(lambda: _status(d).startswith("Not saved"), timeout=10_000)
        assert d.source_of("openai") == "none"
        settings.sync()
        written = [p for p in tmp_path.rglob("*") if p.is_file() and GOOD_KEY.encode() in p.read_bytes()]
        assert written == []
        d.close()
    finally:
        keyring.set_keyring(previous)
        credentials.forget_cached()
