"""The rules for a student's fields, wherever a student comes from (the form, an inline
edit, a roster file, OneRoster): trimmed, typed and checked, with a message that names
the field and says what to do. No text field may be longer than its limit
(app.domain.text_limits; the schema holds the same CHECKs)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from app.domain.enums import StudentStatus
from app.domain.errors import ValidationError
from app.domain.text_limits import STUDENT_TEXT_LIMITS, check_length

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _clean_text(value: Any) -> str | None:
    if value is None:
        return None
    cleaned = str(value).strip()
    return cleaned or None


def normalise_student(values: Mapping[str, Any]) -> dict[str, Any]:
    """Trimmed, typed, checked field values; raises ValidationError naming the field."""
    out = {name: _clean_text(values.get(name)) for name in ("student_no", "email", "class_name")}
    out["state_id"] = _clean_text(values.get("state_id"))
    out["sourced_id"] = _clean_text(values.get("sourced_id"))
    out["first_name"] = _clean_text(values.get("first_name")) or ""
    out["last_name"] = _clean_text(values.get("last_name")) or ""
    # The length first: a 3,000-character value must not be echoed back in a message.
    for name in STUDENT_TEXT_LIMITS:
        check_length(name, out[name], STUDENT_TEXT_LIMITS)
    if not out["student_no"]:
        raise ValidationError("student_no", "The student number is required.")
    if not (out["first_name"] or out["last_name"]):
        raise ValidationError("last_name", "Enter the student's first or last name.")
    if out["email"] and not EMAIL_PATTERN.match(out["email"]):
        raise ValidationError(
            "email", f"{out['email']!r} is not a valid e-mail address (expected name@domain)."
        )
    out["status"] = _clean_text(values.get("status")) or StudentStatus.ACTIVE.value
    out["status"] = out["status"].lower()
    if out["status"] not in {s.value for s in StudentStatus}:
        allowed = ", ".join(s.value for s in StudentStatus)
        raise ValidationError(
            "status", f"{values.get('status')!r} is not a student status; use one of {allowed}."
        )
    out["grade_level"] = parse_grade(values.get("grade_level"))
    out["birth_date"] = parse_birth_date(values.get("birth_date"))
    return out


def parse_grade(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text_value = str(value).strip().upper()
    named = {"PK": -1, "K": 0, "KG": 0}
    if text_value in named:
        return named[text_value]
    try:
        grade = int(text_value)
    except ValueError:
        raise ValidationError(
            "grade_level", f"{value!r} is not a grade; use PK, K or a number from 1 to 13."
        ) from None
    if not -1 <= grade <= 13:
        raise ValidationError("grade_level", f"Grade {grade} is out of range (PK, K, 1-13).")
    return grade


def parse_birth_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError(
                "birth_date", f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2011-04-23."
            ) from None
    if parsed > date.today():
        raise ValidationError("birth_date", f"The birth date {parsed} is in the future.")
    return parsed
