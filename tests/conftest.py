"""Shared fixtures. Append new ones; keep each small."""

from __future__ import annotations

import pytest

from support.mock_openai import MockOpenAI

DUMMY_OPENAI_KEY = "sk" "-test-dummy-0123456789abcdef"


@pytest.fixture
def user_config(tmp_path, monkeypatch):
    """A private user config folder (pricing.json, trusted folders) for the test."""
    folder = tmp_path / "user-config"
    folder.mkdir()
    monkeypatch.setenv("ORCHESTRA_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def memory_keyring():
    """An in-memory OS keyring for the test (this box has none); restored afterwards."""
    import keyring
    from keyring.backend import KeyringBackend

    from studio.core.userdata import credentials

    class MemoryKeyring(KeyringBackend):
        priority = 1

        def __init__(self):
            super().__init__()
            self.store: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            from keyring.errors import PasswordDeleteError

            if (service, username) not in self.store:
                raise PasswordDeleteError("not found")
            del self.store[(service, username)]

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    credentials.forget_cached()
    yield backend
    keyring.set_keyring(previous)
    credentials.forget_cached()


@pytest.fixture
async def mock_openai(monkeypatch, user_config):
    """A loopback OpenAI-compatible server (tests/support/mock_openai.py) and a dummy key in the env."""
    monkeypatch.setenv("OPENAI_API_KEY", DUMMY_OPENAI_KEY)
    server = MockOpenAI()
    await server.start()
    yield server
    await server.close()
