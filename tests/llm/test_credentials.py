"""Credentials: keyring first, then the environment, else a message naming both; no keyring is
handled without a plaintext fallback; keys are scrubbed from anything written."""

from __future__ import annotations

import io
import json

import keyring
import pytest
from keyring.backends import fail

from studio.cli import main as cli_main
from studio.core.userdata import credentials
from studio.core.errors import CredentialsMissing
from studio.llm import complete

KEY = "sk" "-keyring-secret-7f3a9c2e"


@pytest.fixture
def no_keyring(monkeypatch):
    """The headless situation: keyring's fail backend, where every call raises NoKeyringError."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    credentials.forget_cached()
    yield
    keyring.set_keyring(previous)
    credentials.forget_cached()


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch):
    for var in credentials.ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)


def test_keyring_comes_first(memory_keyring, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk" "-from-environment-1234")
    credentials.set_key("openai", KEY)
    assert memory_keyring.store[("orchestra-studio", "openai")] == KEY
    assert credentials.find_key("openai") == (KEY, "keyring")
    assert credentials.key_info("openai").source == "keyring"


def test_environment_is_second(memory_keyring, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk" "-ant-from-env-5678")
    assert credentials.find_key("anthropic") == ("sk" "-ant-from-env-5678", "environment")
    info = credentials.key_info("anthropic")
    assert (info.source, info.env_var) == ("environment", "ANTHROPIC_API_KEY")


def test_missing_key_names_both_fixes(memory_keyring):
    with pytest.raises(CredentialsMissing) as exc:
        credentials.get_key("gemini")
    text = str(exc.value)
    assert "orchestra keys set gemini" in text and "GEMINI_API_KEY" in text
    assert credentials.key_info("gemini").source == "none"


def test_headless_box_without_keyring_uses_environment(no_keyring, monkeypatch):
    info = credentials.key_info("openai")
    assert info.source == "none" and "no OS keyring" in info.keyring_problem
    monkeypatch.setenv("OPENAI_API_KEY", "sk" "-env-only-abcdef")
    assert credentials.find_key("openai") == ("sk" "-env-only-abcdef", "environment")


def test_headless_missing_key_explains_keyring_is_unavailable(no_keyring):
    with pytest.raises(CredentialsMissing, match="no OS keyring is available.*OPENAI_API_KEY"):
        credentials.get_key("openai")


def test_no_plaintext_fallback_when_storing_without_keyring(no_keyring, user_config, tmp_path):
    with pytest.raises(credentials.KeyringUnavailable, match="OPENAI_API_KEY"):
        credentials.set_key("openai", KEY)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and KEY in p.read_text(errors="ignore")]
    assert written == []


def test_plaintext_keyring_backend_is_refused(memory_keyring):
    class PlaintextKeyring(type(memory_keyring)):
        pass

    keyring.set_keyring(PlaintextKeyring())
    credentials.forget_cached()
    with pytest.raises(credentials.KeyringUnavailable, match="plain text"):
        credentials.set_key("openai", KEY)


def test_delete_key(memory_keyring):
    credentials.set_key("mistral", KEY)
    assert credentials.delete_key("mistral") is True
    assert credentials.find_key("mistral") == (None, "none")
    assert credentials.delete_key("mistral") is False


def test_bad_provider_name_is_refused(memory_keyring):
    with pytest.raises(ValueError):
        credentials.set_key("../etc", KEY)


async def test_keyring_key_reaches_the_provider(memory_keyring, mock_openai, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    credentials.set_key("openai", KEY)
    await complete("openai/gpt-4o-mini", [{"role": "user", "content": "hi"}], api_base=mock_openai.base_url)
    assert mock_openai.requests[-1].authorization == f"Bearer {KEY}"


async def test_cloud_model_without_key_fails_before_any_request(memory_keyring, user_config):
    with pytest.raises(CredentialsMissing, match="ANTHROPIC_API_KEY"):
        await complete("anthropic/claude-haiku-4-5", [{"role": "user", "content": "hi"}])


async def test_custom_server_needs_no_key(memory_keyring, mock_openai, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    c = await complete("openai/local-model", [{"role": "user", "content": "hi"}], api_base=mock_openai.base_url)
    assert c.text == "echo: hi"


# -- redaction ------------------------------------------------------------------------


def test_redact_removes_known_keys_everywhere(memory_keyring, monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk" "-env-secret-991122")
    credentials.set_key("openai", KEY)
    event = {
        "kind": "node_failed",
        "error": f"401: Incorrect API key provided: {KEY}",
        "inputs": [f"header Bearer {KEY}", ("gsk" "-env-secret-991122", 3)],
        "nested": {"api_key": "sk" "-never-seen-before-000", "Authorization": "Bearer whatever", "tokens_in": 12},
    }
    clean = credentials.redact(event)
    dumped = json.dumps(clean)
    assert KEY not in dumped and "gsk" "-env-secret-991122" not in dumped and "sk" "-never-seen-before-000" not in dumped
    assert "Bearer whatever" not in dumped
    assert clean["nested"]["tokens_in"] == 12
    assert clean["kind"] == "node_failed"
    assert clean["error"] == "401: Incorrect API key provided: [redacted]"
    assert event["error"].endswith(KEY)  # the original is untouched


def test_known_secrets_include_looked_up_and_env_keys(memory_keyring, monkeypatch):
    monkeypatch.setenv("XAI_API_KEY", "xai-env-secret-123456")
    credentials.set_key("deepseek", "ds-stored-secret-654321")
    secrets = credentials.known_secrets()
    assert {"xai-env-secret-123456", "ds-stored-secret-654321"} <= secrets


def test_redact_text_and_short_values_are_left_alone(memory_keyring, monkeypatch):
    assert credentials.redact_text(f"key={KEY}.", frozenset({KEY})) == "key=[redacted]."
    # a "key" of a few characters would scrub ordinary words out of every trace
    monkeypatch.setenv("MISTRAL_API_KEY", "the")
    assert "the" not in credentials.known_secrets()
    assert credentials.redact("the plan") == "the plan"


# -- orchestra keys -------------------------------------------------------------------


def test_cli_keys_set_list_delete(memory_keyring, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(KEY + "\n"))
    assert cli_main(["keys", "set", "openai", "--stdin"]) == 0
    assert memory_keyring.store[("orchestra-studio", "openai")] == KEY
    assert cli_main(["keys", "list"]) == 0
    out = capsys.readouterr().out
    assert "openai" in out and "OS keyring" in out
    assert KEY not in out
    assert cli_main(["keys", "delete", "openai"]) == 0
    assert ("orchestra-studio", "openai") not in memory_keyring.store
    assert cli_main(["keys", "delete", "openai"]) == 1


def test_cli_keys_set_without_keyring_points_to_env(no_keyring, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(KEY + "\n"))
    assert cli_main(["keys", "set", "openai", "--stdin"]) == 1
    err = capsys.readouterr().err
    assert "OPENAI_API_KEY" in err and KEY not in err


def test_cli_keys_set_asks_with_hidden_input(memory_keyring, monkeypatch):
    asked = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or KEY)
    assert cli_main(["keys", "set", "anthropic"]) == 0
    assert asked and "hidden" in asked[0]
    assert memory_keyring.store[("orchestra-studio", "anthropic")] == KEY


def test_known_secrets_include_keyring_keys_not_yet_used(memory_keyring):
    memory_keyring.set_password("orchestra-studio", "anthropic", "sk" "-ant-stored-elsewhere-42")
    memory_keyring.set_password("orchestra-studio", "__providers__", '["my-gateway"]')
    memory_keyring.set_password("orchestra-studio", "my-gateway", "gw-secret-value-777")
    credentials.forget_cached()
    secrets = credentials.known_secrets()
    assert {"sk" "-ant-stored-elsewhere-42", "gw-secret-value-777"} <= secrets
    assert "sk" "-ant-stored-elsewhere-42" not in json.dumps(credentials.redact({"e": "x sk" "-ant-stored-elsewhere-42"}))


def test_known_secrets_without_a_keyring_does_not_fail(no_keyring, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk" "-env-value-31337")
    assert "sk" "-env-value-31337" in credentials.known_secrets()
