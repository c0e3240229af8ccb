"""`orchestra keys set|list|delete PROVIDER`: API keys in the OS keyring, without the GUI.

Why hidden input: a key typed as an argument lands in shell history and ``ps`` output,
so ``set`` asks with getpass (or reads one line from stdin with ``--stdin`` for scripts).
``list`` says where each provider's key would come from -- keyring, environment or
nowhere -- and never prints a key. Without a usable keyring, ``set`` refuses and names
the environment variable instead: keys are never written to a plain file.

The set/list/delete shape is ``studio.cli.keyring_command``'s, shared with `orchestra
secrets`; this module says what is particular to provider keys.
"""

from __future__ import annotations

import argparse

from studio.core.userdata import credentials

from .keyring_command import KeyringCommand

_SUMMARY = __doc__.split("\n\n")[0]


class KeysCommand(KeyringCommand):
    command = "keys"
    help = "store, list or delete provider API keys (OS keyring)"
    description = _SUMMARY
    arg = "provider"
    arg_help = "e.g. openai, anthropic, gemini, mistral, groq"
    set_help = "store a provider's key in the OS keyring (asked with hidden input)"
    stdin_help = "read the key from the first line of standard input"
    list_help = "show where each provider's key comes from (never the key)"
    delete_help = "remove a provider's key from the OS keyring"
    value_word = "key"

    prompt_text = "API key for {name} (input hidden): "
    not_stored_text = "no {name} key in the OS keyring"
    keyring_note_text = "note: {problem}; keys can only come from environment variables here"
    nothing_listed_text = "no keys found (use `orchestra keys set PROVIDER`, or set e.g. OPENAI_API_KEY)"

    def name_to_set(self, raw: str) -> str:
        return raw.strip().lower()

    name_to_delete = name_to_set

    def store(self, name: str, value: str) -> str:
        credentials.set_key(name, value)
        return f"stored the {name} key in the OS keyring (service {credentials.SERVICE!r})"

    def remove(self, name: str) -> bool:
        return credentials.delete_key(name)

    def deleted(self, name: str) -> str:
        env_var = credentials.env_var_for(name)
        note = f" ({env_var} is still set in the environment)" if credentials.key_info(name).source == "environment" else ""
        return f"deleted the {name} key from the OS keyring{note}"

    def add_list_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--all", action="store_true", help="also list providers without a key")

    def rows(self, args: argparse.Namespace) -> list[tuple[str, str]]:
        out = []
        for info in credentials.providers_with_keys():
            if args.all or info.source != "none":
                where = {"keyring": "OS keyring", "environment": f"environment ({info.env_var})",
                         "none": f"none (set {info.env_var} or `orchestra keys set {info.provider}`)"}[info.source]
                out.append((info.provider, where))
        return out


register = KeysCommand().register
