"""How registration and certificate numbers look: "REG-2026-00007", "CERT-2026-00042",
one sequence per school, kind and year (number_sequence, named "certificate-2026").
Handed out by app.services.numbering; written the same way by the demo data."""

from __future__ import annotations

from enum import StrEnum

DIGITS = 5  # "00042": room for 99,999 a year before the numbers grow a digit


class NumberKind(StrEnum):
    REGISTRATION = "registration"
    CERTIFICATE = "certificate"


PREFIXES = {NumberKind.REGISTRATION: "REG", NumberKind.CERTIFICATE: "CERT"}


def sequence_name(kind: NumberKind, year: int) -> str:
    return f"{kind.value}-{year}"


def sequence_prefix(kind: NumberKind, year: int) -> str:
    return f"{PREFIXES[kind]}-{year}-"


def format_number(prefix: str, value: int) -> str:
    """In SQL, for numbering many rows in one statement: prefix || lpad(value, DIGITS, '0')."""
    return f"{prefix}{value:0{DIGITS}d}"
