"""Counts in words: no "1 inconsistencies", no "student(s)"."""

from __future__ import annotations

from app.domain.wording import counted, plural


def test_one_is_singular_and_everything_else_plural():
    assert counted(1, "student") == "1 student"
    assert counted(0, "student") == "0 students"
    assert counted(1204, "student") == "1,204 students"
    assert counted(1, "inconsistency") == "1 inconsistency"
    assert counted(2, "inconsistency") == "2 inconsistencies"
    assert counted(3, "new course") == "3 new courses"
    assert plural(1, "was") == "was" and plural(5, "was") == "were"
    assert plural(2, "remains", "remain") == "remain"


def test_a_change_reads_in_words_without_ids():
    from app.runs.history import change_text

    text = change_text({"student_id": "0b1c…", "active": True, "ended_on": None,
                        "decided_at": "2026-12-02T12:00:36.576531+00:00"})  # fmt: skip
    assert text.startswith("active: yes; ended on: —; decided at: 2026-12-02 ")
    assert "student" not in text and "T12" not in text
