"""Numbers as people type them or a scanner reads them: "reg-2026-00042 " is
REG-2026-00042. Only the prefix is folded; the rest is kept as it came, so a number
in an older format (a student number, "R-000042") still matches itself."""

from __future__ import annotations


def typed_number(text: str, prefix: str) -> str:
    """``text`` without surrounding blanks, with ``prefix`` + "-" in capitals when it
    starts with it in any case (scanners and phones send "reg-…" or "Reg-…")."""
    number = text.strip()
    head = f"{prefix}-"
    if number[: len(head)].upper() == head.upper():
        return head.upper() + number[len(head) :]
    return number


def number_candidates(text: str, prefix: str) -> list[str]:
    """The numbers ``text`` may stand for: as typed (stripped) and with its prefix
    folded, once each; looked up with ``= ANY(...)`` so the unique index answers."""
    typed = text.strip()
    folded = typed_number(text, prefix)
    return [typed] if folded == typed else [folded, typed]
