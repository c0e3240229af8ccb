"""A keyring backend for subprocess tests: in memory, seeded from an environment variable.

A child process started by a test (the real ``orchestra`` CLI) cannot see the test's
in-memory keyring, and this box has no OS keyring. Select this one in the child with
``PYTHON_KEYRING_BACKEND=support.env_keyring.EnvKeyring`` (tests/ on PYTHONPATH) and seed
it with ``ORCHESTRA_TEST_KEYRING='{"orchestra-studio": {"openai": "sk-..."}}'``. Nothing
is ever written to disk, so a test that scans every written file for a key stays honest,
and the key is in no provider's environment variable, so it exercises the keyring path.
"""

from __future__ import annotations

import json
import os

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV = "ORCHESTRA_TEST_KEYRING"


class EnvKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        seed = json.loads(os.environ.get(ENV) or "{}")
        self.store: dict[tuple[str, str], str] = {(svc, user): pw for svc, users in seed.items() for user, pw in users.items()}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.store:
            raise PasswordDeleteError("not found")
        del self.store[(service, username)]
