"""The shape `orchestra keys` and `orchestra secrets` share: set, list and delete a value
in the OS keyring, written once.

Both commands ask for the value with hidden input (a value typed as an argument lands in
shell history and ``ps`` output) or read one line from stdin with ``--stdin``, list where
each value lives without ever printing one, and turn the store's refusals (no usable
keyring, a bad name) into an ``error:`` line and an exit code. What differs -- the words,
the name rule, the store's functions -- is a subclass's attributes and a few methods
(``studio.cli.keys``, ``studio.cli.secrets``).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from studio.core.userdata import credentials


class KeyringCommand:
    """One keyring-backed command. A subclass gives the words below and supplies
    ``name_to_set(raw)`` (ValueError: exit 2), ``store(name, value)`` (returns the line that
    says so), ``remove(name)`` (False: nothing was stored), ``rows(args)`` ((name, where it
    lives) pairs) and, where they differ from the defaults, ``name_to_delete``,
    ``deleted`` and ``add_list_arguments``. The store's KeyringUnavailable and ValueError
    become an ``error:`` line and exit 1."""

    command = ""  # the subcommand: keys, secrets
    help = ""
    description = ""
    arg = ""  # what a stored value is named by: provider, name
    arg_help = ""
    set_help = ""
    stdin_help = ""
    list_help = ""
    delete_help = ""
    value_word = ""  # what is asked for: "key", "value"
    prompt_text = ""  # "... {name} (input hidden): "
    not_stored_text = ""  # "... {name} ..."
    deleted_text = ""  # "... {name} ..."
    keyring_note_text = ""  # "note: {problem}; ..."
    nothing_listed_text = ""

    def name_to_delete(self, raw: str) -> str:
        return raw

    def deleted(self, name: str) -> str:
        return self.deleted_text.format(name=name)

    def add_list_arguments(self, parser: argparse.ArgumentParser) -> None:
        pass

    # -- the shared shape ------------------------------------------------------------------

    def register(self, subparsers: argparse._SubParsersAction) -> None:
        parser = subparsers.add_parser(self.command, help=self.help, description=self.description)
        sub = parser.add_subparsers(dest=f"{self.command}_command", metavar="ACTION")

        p_set = sub.add_parser("set", help=self.set_help)
        p_set.add_argument(self.arg, help=self.arg_help)
        p_set.add_argument("--stdin", action="store_true", help=self.stdin_help)
        p_set.set_defaults(func=self.run_set)

        p_list = sub.add_parser("list", help=self.list_help)
        self.add_list_arguments(p_list)
        p_list.set_defaults(func=self.run_list)

        p_del = sub.add_parser("delete", help=self.delete_help)
        p_del.add_argument(self.arg)
        p_del.set_defaults(func=self.run_delete)

        parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    def run_set(self, args: argparse.Namespace) -> int:
        try:
            name = self.name_to_set(getattr(args, self.arg))
        except ValueError as exc:
            return _error(exc, 2)
        if args.stdin:
            value = sys.stdin.readline().strip()
        else:
            if not sys.stdin.isatty():
                return _error(f"no terminal to ask on; pipe the {self.value_word} in with --stdin", 2)
            value = getpass.getpass(self.prompt_text.format(name=name)).strip()
        if not value:
            return _error(f"no {self.value_word} given; nothing stored", 2)
        try:
            done = self.store(name, value)
        except (credentials.KeyringUnavailable, ValueError) as exc:
            return _error(exc, 1)
        print(done)
        return 0

    def run_list(self, args: argparse.Namespace) -> int:
        problem = credentials.keyring_status()
        if problem:
            print(self.keyring_note_text.format(problem=problem))
        try:
            rows = self.rows(args)
        except credentials.KeyringUnavailable as exc:
            return _error(exc, 1)
        if not rows:
            print(self.nothing_listed_text)
            return 0
        width = max(len(name) for name, _ in rows)
        for name, where in rows:
            print(f"{name:<{width}}  {where}")
        return 0

    def run_delete(self, args: argparse.Namespace) -> int:
        name = self.name_to_delete(getattr(args, self.arg))
        try:
            removed = self.remove(name)
        except (credentials.KeyringUnavailable, ValueError) as exc:
            return _error(exc, 1)
        if not removed:
            return _error(self.not_stored_text.format(name=name), 1, prefix="")
        print(self.deleted(name))
        return 0


def _error(message: object, code: int, prefix: str = "error: ") -> int:
    print(f"{prefix}{message}", file=sys.stderr)
    return code
