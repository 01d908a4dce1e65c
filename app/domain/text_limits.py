"""The longest value each roster text field may hold, wherever it comes from (the form,
an inline edit, a roster file, OneRoster, SDS) — and a CHECK in the schema holds the
same numbers (migration 0013).

Why limits at all: PostgreSQL text has none, but a btree index entry cannot exceed
about 2,700 bytes, so a 3,000-character number, e-mail or course name used to fail deep
in an INSERT with an index error that dropped a whole import. The limits are generous
for real data (the longest published OneRoster sourcedIds are GUIDs or URLs well under
255 characters; e-mail addresses are at most 254 by RFC 5321) and small enough to be
indexed in any script.
"""

from __future__ import annotations

from app.domain.errors import ValidationError

STUDENT_TEXT_LIMITS: dict[str, int] = {
    "student_no": 64,
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "class_name": 64,
    "state_id": 64,
    "sourced_id": 255,
}
COURSE_TEXT_LIMITS: dict[str, int] = {
    "code": 64,
    "name": 200,
    "term": 100,
    "sourced_id": 255,
}
# A search box cuts what is typed or pasted to this many characters (no name, number or
# e-mail is longer) instead of handing the database a page of text.
SEARCH_TEXT_LIMIT = 200

FIELD_WORDS = {
    "student_no": "student number",
    "first_name": "first name",
    "last_name": "last name",
    "email": "e-mail",
    "class_name": "class",
    "state_id": "state id",
    "sourced_id": "sourced id",
    "code": "course code",
    "name": "course name",
    "term": "term",
}


def too_long_message(field: str, limit: int, length: int) -> str:
    """ "The first name is 3,000 characters long; the most Rollbook keeps is 100." """
    return (
        f"The {FIELD_WORDS.get(field, field.replace('_', ' '))} is {length:,} characters "
        f"long; the most Rollbook keeps is {limit:,}. Shorten it and try again."
    )


def check_length(field: str, value: str | None, limits: dict[str, int]) -> None:
    """Raise ValidationError naming the field and its limit when ``value`` is too long."""
    limit = limits.get(field)
    if value is not None and limit is not None and len(value) > limit:
        raise ValidationError(field, too_long_message(field, limit, len(value)))


def cut_search_text(text: str) -> str:
    """What a search uses of ``text``: at most SEARCH_TEXT_LIMIT characters."""
    return text[:SEARCH_TEXT_LIMIT]
