"""Counts in words, the one way: "1 student", "3 students", "1 inconsistency", with
thousands separators. Every message, report and status line that says how many of
something uses it, so none says "1 inconsistencies" or "student(s)"."""

from __future__ import annotations

# Nouns whose plural is not the singular with an "s".
_PLURALS = {
    "inconsistency": "inconsistencies",
    "class": "classes",
    "was": "were",
    "is": "are",
    "has": "have",
    "this": "these",
    "it": "they",
}


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """The word for ``count`` of ``singular``: "student" for 1, "students" otherwise."""
    if count == 1:
        return singular
    return plural_form or _PLURALS.get(singular) or singular + "s"


def counted(count: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 student", "1,204 students"."""
    return f"{count:,} {plural(count, singular, plural_form)}"


def group_name(course_name: str, class_name: str | None) -> str:
    """A lesson's group: "Biology (7A)" when it is for one class, "Biology" when the
    whole course meets."""
    return f"{course_name} ({class_name})" if class_name else course_name
