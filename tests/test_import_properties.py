"""Generated rosters through read -> validate -> plan: whatever a file holds, no
exception escapes but a one-line RollbookError, every data row ends up exactly once as
a planned student row, a merged duplicate or a rejection, and a dry run writes nothing.

The files are shaped like real exports (quoting on or off, , ; tab |, UTF-8 with or
without BOM, Windows-1252, \\n or \\r\\n, any column order, a notes column whose quoted
values run over lines) with the values that broke imports before: 3,000-character
values, zero-width spaces, BOMs and bidi overrides inside fields, blank lines, and
sometimes a quote that is never closed. The rules for each field are changing as this
is written; the properties here hold whatever they say.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.db.models import AuditLog, Course, CourseEnrollment, Student
from app.domain.errors import RollbookError
from app.imports.roster import plan_roster
from app.imports.service import prepare
from app.services.students import StudentInput, create_student

INVISIBLE = ["\u200b", "\ufeff", "\u202e"]
DELIMITERS = [",", ";", "\t", "|"]
ENCODINGS = ["utf-8", "utf-8-sig", "windows-1252"]

# Field -> the header names real exports use for it (Rollbook's own, SIS, spreadsheet).
HEADERS = {
    "student_no": ["student_no", "Student Number"],
    "email": ["email", "E-mail"],
    "name": ["name", "Full Name"],
    "first_name": ["first_name", "Given Name"],
    "last_name": ["last_name", "Surname"],
    "class": ["class", "Homeroom"],
    "course": ["course", "Subject"],
    "status": ["status"],
    "grade": ["grade"],
    "birth_date": ["birth_date", "DOB"],
    "notes": ["notes", "Address"],  # not imported: may hold line breaks
}
SAMPLES = {
    "student_no": ["S1", "S2", "S3", "S4", "S10", "1.2E+05", "00042"],
    "email": ["s1@x.org", "s2@x.org", "S3@X.org", "new@x.org", "not-an-email", "a@b"],
    "name": ["Ann Lee", "Bob Stone", "Lee, Ann", "José Ñúñez", "Zoë", "O'Neil Ó"],
    "first_name": ["Ann", "Bob", "José", "Zoë"],
    "last_name": ["Lee", "Stone", "Ñúñez", "O'Neil"],
    "class": ["7A", "7B", "8C"],
    "course": ["Art", "Mathematics 101", "art", "Biology; Lab", 'The "Big" Course'],
    "status": ["active", "Inactive", "withdrawn", "deleted", "TRUE", "0", "on leave"],
    "grade": ["7", "08", "K", "13", "x"],
    "birth_date": ["2011-04-23", "12/19/1997", "03/04/2011", "31.12.2010", "2099-01-01"],
    "notes": ["", "allergic to nuts", "12 High St\nFlat 3", "line one\r\nline two"],
}

plain_text = st.text(
    st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="\u2028\u2029"),
    max_size=20,
)


def value_for(field: str) -> st.SearchStrategy[str]:
    sample = st.sampled_from(SAMPLES[field])
    noisy = st.builds(lambda v, c, at: v[:at] + c + v[at:], sample,
                      st.sampled_from([*INVISIBLE, '"', ",", ";", "|", "\t", " "]),
                      st.integers(0, 20))  # fmt: skip
    long = st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "1", "\u200b"]),
                     st.integers(250, 3000))  # fmt: skip
    only_invisible = st.builds("".join, st.lists(st.sampled_from(INVISIBLE), min_size=1))
    return st.one_of(sample, sample, noisy, long, only_invisible, plain_text, st.just(""))


@dataclass
class Roster:
    text: str
    encoding: str
    newline: str
    data_lines: list[int]  # the physical line of every non-blank data row
    runaway: bool


def _render(value: str, delimiter: str, quote_all: bool) -> str:
    needs = any(c in value for c in [*DELIMITERS, '"', "\n", "\r"]) or value != value.strip()
    return f'"{value.replace(chr(34), chr(34) * 2)}"' if quote_all or needs else value


@st.composite
def rosters(draw) -> Roster:
    identity = draw(st.sampled_from([["student_no"], ["email"], ["student_no", "email"]]))
    names = draw(st.sampled_from([["name"], ["first_name", "last_name"], ["last_name"]]))
    optional = draw(st.lists(st.sampled_from(
        ["class", "course", "status", "grade", "birth_date", "notes"]), unique=True))  # fmt: skip
    fields = draw(st.permutations(identity + names + optional))
    header = [draw(st.sampled_from(HEADERS[f])) for f in fields]
    delimiter = draw(st.sampled_from(DELIMITERS))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    quote_all = draw(st.booleans())
    lines = [delimiter.join(_render(h, delimiter, quote_all) for h in header)]
    data_lines: list[int] = []
    runaway = False
    line = 2  # the physical line the next row starts on
    for _ in range(draw(st.integers(0, 10))):
        if draw(st.integers(0, 5)) == 0:  # a blank line, or one of delimiters only
            lines.append(draw(st.sampled_from(["", " ", delimiter * len(fields)])))
            line += 1
            continue
        values = [draw(value_for(f)) for f in fields]
        if not any(c.isalnum() for v in values for c in v):
            values[0] = "S9"  # a row with nothing visible is a blank line, not a row
        cells = [_render(v, delimiter, quote_all) for v in values]
        mapped = [i for i, f in enumerate(fields) if f != "notes"]
        if draw(st.integers(0, 7)) == 0:  # a quote that is never closed
            at, runaway = draw(st.sampled_from(mapped)), True
            flat = [v.replace("\n", " ").replace("\r", " ").replace('"', "") for v in values]
            cells = [*cells[:at], '"' + delimiter.join(flat[at:])]
            cells[:at] = [c.replace("\n", " ").replace("\r", " ") for c in cells[:at]]
        row = delimiter.join(cells)
        lines.append(row)
        data_lines.append(line)
        line += row.count("\n") + row.count("\r") - row.count("\r\n") + 1
    text = newline.join(lines).replace("\r\n", "\n").replace("\n", newline)
    if draw(st.booleans()):
        text += newline  # with or without a line break after the last row
    return Roster(text, draw(st.sampled_from(ENCODINGS)), newline, data_lines, runaway)


def _counts(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(model))
                 for model in (Student, Course, CourseEnrollment, AuditLog))  # fmt: skip


def _seed(session, ctx) -> None:
    """Students the files may match, update or collide with."""
    for number, first, last, email, status in [
        ("S1", "Ann", "Lee", "s1@x.org", "active"),
        ("S2", "Bob", "Stone", "s2@x.org", "withdrawn"),
        ("S3", "Cy", "Young", "other@x.org", "active"),
    ]:
        create_student(session, ctx, StudentInput(number, first, last, email=email,
                                                  status=status))  # fmt: skip


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])  # fmt: skip
@given(roster=rosters())
def test_every_row_is_accounted_for_and_a_dry_run_writes_nothing(db, tmp_path_factory, roster):
    path = tmp_path_factory.mktemp("roster") / "roster.csv"
    path.write_bytes(roster.text.encode(roster.encoding, errors="replace"))
    with db.sessions.begin() as s:
        before = _counts(s)
    try:
        prepared = prepare(path)
    except RollbookError as exc:  # a file that truly cannot be used, said in one line
        assert str(exc).strip() and "\n" not in str(exc).strip()
        event(f"refused: {type(exc).__name__}")
        return
    validation = prepared.validation
    with db.sessions.begin() as session:
        ctx = db.context()
        _seed(session, ctx)
        seeded = _counts(session)
        outcome = plan_roster(session, ctx, validation, params=prepared.params)
        assert _counts(session) == seeded  # the plan writes nothing but temporary tables
        session.rollback()
    with db.sessions.begin() as s:
        assert _counts(s) == before

    expected = set(roster.data_lines)
    rejected = [r.line for r in outcome.rejected]
    assert len(rejected) == len(set(rejected)), f"a line rejected twice: {outcome.rejected}"
    record_lines = [r.line for r in validation.records]
    assert len(record_lines) == len(set(record_lines))
    assert not {r.line for r in validation.rejections} & set(record_lines)
    planned = set(record_lines) - set(rejected)
    accounted = planned | set(rejected)
    assert accounted <= expected, f"lines that are no row of the file: {accounted - expected}"
    assert len(expected - accounted) == validation.merged_duplicates, (
        f"lines lost without a word: {sorted(expected - accounted)}"
    )
    assert outcome.rows == validation.total_rows == len(expected)
    keys = {r.key for r in validation.records if r.line in planned}
    assert outcome.created + outcome.updated + outcome.unchanged == len(keys)
    event("read and planned" + (", with a runaway quote" if roster.runaway else ""))
    for rejection in outcome.rejected:
        assert rejection.message.strip() and "\n" not in rejection.message
