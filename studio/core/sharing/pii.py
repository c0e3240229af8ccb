"""Finding and masking personal data: e-mail addresses, phone numbers, payment card numbers.

Why these rules: a guardrail that cries wolf is switched off, so matches are checked
beyond the pattern -- card numbers must pass the Luhn checksum (13-19 digits), phone
numbers need 9-15 digits and are not dates or card numbers. It is a filter for
accidents (a model echoing a customer's e-mail), not a compliance-grade detector.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("email", "phone", "card")

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,5}(?:[\s.-]?\d{2,5}){1,4}(?![\w])")
_DATE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    text: str


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def find(text: str, kinds: tuple[str, ...] | list[str] = KINDS) -> list[Finding]:
    """Every piece of personal data of the given kinds in ``text``, in order, not overlapping."""
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    if "email" in kinds:
        for m in _EMAIL.finditer(text):
            found.append(Finding("email", m.start(), m.end(), m.group()))
            taken.append(m.span())
    if "card" in kinds:
        for m in _CARD.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if 13 <= len(digits) <= 19 and luhn_ok(digits) and free(*m.span()):
                found.append(Finding("card", m.start(), m.end(), m.group()))
                taken.append(m.span())
    if "phone" in kinds:
        for m in _PHONE.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            raw = m.group().strip()
            if not 9 <= len(digits) <= 15 or _DATE.match(raw) or not free(*m.span()):
                continue
            if re.fullmatch(r"\d+", raw) and not raw.startswith("0"):
                continue  # a bare long number (an id, an amount) is not taken for a phone number
            found.append(Finding("phone", m.start(), m.end(), m.group()))
            taken.append(m.span())
    return sorted(found, key=lambda f: f.start)


def mask(text: str, kinds: tuple[str, ...] | list[str] = KINDS) -> tuple[str, list[Finding]]:
    """``text`` with each finding replaced by ``[email]``, ``[phone]`` or ``[card]``."""
    findings = find(text, kinds)
    out, pos = [], 0
    for f in findings:
        out.append(text[pos:f.start])
        out.append(f"[{f.kind}]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out), findings
