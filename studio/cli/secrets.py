"""`orchestra secrets set|list|delete NAME`: named secrets (tokens, passwords) in the OS keyring.

A flow names a secret as ``{{ secrets.NAME }}`` (in a Tool node's fixed arguments, e.g. an
``Authorization: Bearer {{ secrets.GITHUB_TOKEN }}`` header, or a parameter of kind
``secret``); the value is put in at run time and redacted from traces, logs and the
studio. Like ``orchestra keys``: ``set`` asks with hidden input (or reads one line from
stdin with ``--stdin``), ``list`` never prints a value, and without a usable keyring
``set`` refuses and names the environment variable (``ORCHESTRA_SECRET_NAME``) instead.

The set/list/delete shape is ``studio.cli.keyring_command``'s, shared with `orchestra
keys`; this module says what is particular to named secrets.
"""

from __future__ import annotations

import argparse

from studio.core.userdata import credentials

from .keyring_command import KeyringCommand

_SUMMARY = __doc__.split("\n\n")[0]


class SecretsCommand(KeyringCommand):
    command = "secrets"
    help = "store, list or delete named secrets a flow uses as {{ secrets.NAME }}"
    description = _SUMMARY
    arg = "name"
    arg_help = "letters, digits and _, e.g. GITHUB_TOKEN"
    set_help = "store a secret in the OS keyring (asked with hidden input)"
    stdin_help = "read the value from the first line of standard input"
    list_help = "list the secrets' names and where each lives (never a value)"
    delete_help = "remove a secret from the OS keyring"
    value_word = "value"

    prompt_text = "Value of {name} (input hidden): "
    not_stored_text = "no secret {name} in the OS keyring"
    deleted_text = "deleted {name} from the OS keyring"
    keyring_note_text = "note: {problem}; secrets can only come from ORCHESTRA_SECRET_NAME environment variables here"
    nothing_listed_text = "no secrets (store one with `orchestra secrets set NAME`)"

    def name_to_set(self, raw: str) -> str:
        return credentials.check_secret_name(raw)

    def store(self, name: str, value: str) -> str:
        credentials.set_secret(name, value)
        return f"stored {name} in the OS keyring; use it in a flow as {{{{ secrets.{name} }}}}"

    def remove(self, name: str) -> bool:
        return credentials.delete_secret(name)  # checks the name (a bad one: exit 1)

    def rows(self, args: argparse.Namespace) -> list[tuple[str, str]]:
        return [(name, "OS keyring" if source == "keyring" else f"environment ({credentials.SECRET_ENV_PREFIX}{name.upper()})")
                for name, source in credentials.secret_names()]


register = SecretsCommand().register
