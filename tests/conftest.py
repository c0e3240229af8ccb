"""Shared fixtures. Append new ones; keep each small."""

from __future__ import annotations

import os

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


# Mutation mode (tests/mutation/run_mutation.py sets ORCHESTRA_MUTATION=1): every
# surviving mutant re-runs each test that reaches it, so a property test's 300 examples
# are paid once per mutant. A few derandomized examples still kill what the example
# tests miss; the full counts run everywhere else. Explicit @settings(max_examples=...)
# win over a profile, hence the cap on each collected test as well.
MUTATION_EXAMPLES = 8
if os.environ.get("ORCHESTRA_MUTATION") == "1":
    from hypothesis import settings as _hyp_settings

    _hyp_settings.register_profile("mutation", max_examples=MUTATION_EXAMPLES, derandomize=True, database=None,
                                   deadline=None)
    _hyp_settings.load_profile("mutation")

    def pytest_collection_modifyitems(items):
        for item in items:
            fn = getattr(item, "obj", None)
            own = getattr(fn, "_hypothesis_internal_use_settings", None) if hasattr(fn, "hypothesis") else None
            if own is not None and own.max_examples > MUTATION_EXAMPLES:
                fn._hypothesis_internal_use_settings = _hyp_settings(own, max_examples=MUTATION_EXAMPLES,
                                                                     derandomize=True, database=None)

    def pytest_sessionfinish(session):
        # mutmut forks one worker per mutant from the process that ran the suite once
        # (litellm, Qt bindings, every module: a big heap). Frozen, that heap is left
        # out of each worker's garbage collections, which otherwise walk all of it and
        # copy every page they touch (copy-on-write): about half a second per mutant.
        # Only there: a mutant's own session (mutmut names the mutant in
        # MUTANT_UNDER_TEST) ends its worker, so a full collection at its end is pure
        # cost -- measured 0.5-1.2 s a mutant, more than most mutants' tests take.
        import gc

        if "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", ""):
            return
        gc.collect()
        gc.freeze()
