"""Which column of the file means what: an alias table matched without regard to case,
spaces, underscores or hyphens, overridable by hand."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

from app.imports.reading import UnreadableFile


class Field(StrEnum):
    STUDENT_NO = "student_no"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    FULL_NAME = "full_name"
    EMAIL = "email"
    CLASS_NAME = "class_name"
    GRADE = "grade"
    BIRTH_DATE = "birth_date"
    STATUS = "status"
    COURSE = "course"
    SOURCED_ID = "sourced_id"
    STATE_ID = "state_id"


FIELD_LABELS = {
    Field.STUDENT_NO: "Student number",
    Field.FIRST_NAME: "First name",
    Field.LAST_NAME: "Last name",
    Field.FULL_NAME: "Full name (split)",
    Field.EMAIL: "E-mail",
    Field.CLASS_NAME: "Class",
    Field.GRADE: "Grade",
    Field.BIRTH_DATE: "Birth date",
    Field.STATUS: "Status",
    Field.COURSE: "Course",
    Field.SOURCED_ID: "System id (sourcedId, SIS id)",
    Field.STATE_ID: "State id",
}

# Fields that several columns may fill: every course column is one more enrollment.
REPEATABLE = frozenset({Field.COURSE})

_ALIASES: dict[Field | None, tuple[str, ...]] = {
    Field.FIRST_NAME: ("first_name", "firstname", "given name", "given_name", "forename",
                       "first"),
    Field.LAST_NAME: ("last_name", "lastname", "surname", "family name", "family_name",
                      "last", "last surname"),
    Field.FULL_NAME: ("name", "full name", "full_name", "student name", "student_name",
                      "pupil name"),
    Field.EMAIL: ("email", "e-mail", "email address", "e-mail address", "mail",
                  "student email"),
    Field.CLASS_NAME: ("class_name", "class", "homeroom", "form", "tutor group"),
    Field.GRADE: ("grade", "grade_level", "year group", "year_level"),
    Field.BIRTH_DATE: ("birth_date", "birthdate", "date of birth", "dob", "birthday"),
    Field.STATUS: ("status", "student status", "enrollment status"),
    Field.COURSE: ("course", "course_name", "course name", "subject", "class subject"),
    # Known columns Rollbook deliberately does not import (still listed as not imported).
    None: ("team_number", "team", "team no", "school sis id", "username", "short_name",
           "middle name", "password", "auth", "suspended", "deleted", "integration_id",
           "enroll_status", "orgsourcedids", "role", "roles"),
}  # fmt: skip

# Used only when no column has the field under a name above; the first one present wins
# and the others are listed as not imported.
_FALLBACKS: dict[Field, tuple[str, ...]] = {
    Field.FULL_NAME: ("sortable_name",),  # Canvas: "Family, Given"
    Field.EMAIL: ("secondary email",),  # SDS v1
    Field.STATUS: ("enabledUser", "enabled", "active"),  # OneRoster: true / false
}

# Identifier columns by kind, best first. A student number is the student number; a
# system id (OneRoster sourcedId, Canvas user_id, Clever/ClassLink sis_id) is kept as
# sourced_id and a state id (Ed-Fi StudentUniqueId) as state_id — unless the file has no
# student number, then the best of them is the number.
_ID_COLUMNS: dict[Field | None, tuple[str, ...]] = {
    Field.STUDENT_NO: (
        "student_no", "student number",  # SDS, PowerSchool Student_Number, IC studentNumber
        "enrollment_no", "enrolment_no", "enrollment number", "pupil number",
        "admission number", "matricule",
        "identifier",  # OneRoster users: the human-readable id
        "idnumber",  # Moodle upload users
    ),
    Field.SOURCED_ID: (
        "sis_id", "sis id",  # Clever, ClassLink, SDS v1
        "student_id",  # Clever students.csv; a spreadsheet's "Student ID"
        "user_id",  # Canvas SIS users.csv
        "sourcedId",  # OneRoster
    ),
    Field.STATE_ID: ("StudentUniqueId", "state_id", "state id", "State_StudentNumber",
                     "state student id", "ssid"),
    # A login name: the student number only when the file has no id at all.
    None: ("login_id",),  # Canvas
}  # fmt: skip

# Moodle's per-course columns that go with courseN: listed, not imported.
_COURSE_COLUMN = re.compile(r"^(?:course|coursename|subject)(\d+)$")
_COURSE_COMPANION = re.compile(
    r"^(?:group|role|type|enrolperiod|enrolstatus|enroltimestart|cohort|sysrole)\d+$"
)


def normalise_header(header: str) -> str:
    return re.sub(r"[\s_\-.]+", "", header.strip().lower().lstrip("\ufeff"))


ALIAS_TABLE: dict[str, Field | None] = {
    normalise_header(alias): target for target, aliases in _ALIASES.items() for alias in aliases
}
_FALLBACK_RANK: dict[str, tuple[Field, int]] = {
    normalise_header(alias): (target, rank)
    for target, aliases in _FALLBACKS.items() for rank, alias in enumerate(aliases)
}  # fmt: skip
_ID_RANK: dict[str, tuple[Field | None, int]] = {
    normalise_header(alias): (kind, rank)
    for kind, aliases in _ID_COLUMNS.items() for rank, alias in enumerate(aliases)
}  # fmt: skip


def is_known_header(header: str) -> bool:
    """True for every column name Rollbook recognises, imported or deliberately not."""
    key = normalise_header(header)
    return (key in ALIAS_TABLE or key in _FALLBACK_RANK or key in _ID_RANK
            or bool(_COURSE_COLUMN.match(key) or _COURSE_COMPANION.match(key)))  # fmt: skip


@dataclass(frozen=True)
class ColumnMapping:
    """Field per column index; None means the column is ignored."""

    header: tuple[str, ...]
    fields: tuple[Field | None, ...]

    def index_of(self, field: Field) -> int | None:
        try:
            return self.fields.index(field)
        except ValueError:
            return None

    def indexes_of(self, field: Field) -> list[int]:
        return [i for i, f in enumerate(self.fields) if f is field]

    def has(self, field: Field) -> bool:
        return field in self.fields

    @property
    def ignored_columns(self) -> list[str]:
        """Every column that is not imported, known or not, in the file's order."""
        return [h for h, f in zip(self.header, self.fields, strict=True) if f is None]

    @property
    def unknown_columns(self) -> list[str]:
        return [h for h in self.ignored_columns if not is_known_header(h)]

    def as_dict(self) -> dict[str, str | None]:
        return {h: (f.value if f else None) for h, f in zip(self.header, self.fields, strict=True)}


def auto_map(header: list[str], remembered: dict[str, str | None] | None = None) -> ColumnMapping:
    """Map columns by the alias tables; a mapping the person chose (the wizard's
    remembered one, ``--map``) wins. Two columns that both name one field keep it, so
    that check_mapping can refuse the file naming both."""
    remembered = remembered or {}
    # A name written exactly as in the file picks that column only ("E-mail", not "email").
    exact = {k: v for k, v in remembered.items() if k in header}
    chosen = {normalise_header(k): v for k, v in remembered.items() if k not in exact}
    fields: list[Field | None] = [None] * len(header)
    ids: list[tuple[Field | None, int, int]] = []  # (kind, rank, column)
    fallbacks: list[tuple[Field, int, int]] = []
    for column, name in enumerate(header):
        key = normalise_header(name)
        if name in exact or key in chosen:
            target = exact[name] if name in exact else chosen[key]
            fields[column] = Field(target) if target else None
        elif key in ALIAS_TABLE:
            fields[column] = ALIAS_TABLE[key]
        elif key in _ID_RANK:
            ids.append((*_ID_RANK[key], column))
        elif key in _FALLBACK_RANK:
            fallbacks.append((*_FALLBACK_RANK[key], column))
        elif _COURSE_COLUMN.match(key):
            fields[column] = Field.COURSE
    taken = {f for f in fields if f is not None}
    _resolve_ids(ids, fields, taken)
    for target, _rank, column in sorted(fallbacks):
        if target not in taken:
            fields[column] = target
            taken.add(target)
    return ColumnMapping(tuple(header), tuple(fields))


def _resolve_ids(ids: list[tuple[Field | None, int, int]], fields: list[Field | None],
                 taken: set[Field]) -> None:  # fmt: skip
    """The best student-number column is the number; with none, the best system id, else
    the best state id. The best remaining system id and state id are kept as such."""
    order = [Field.STUDENT_NO, Field.SOURCED_ID, Field.STATE_ID, None]
    ranked = sorted(ids, key=lambda c: (order.index(c[0]), c[1]))
    if ranked and Field.STUDENT_NO not in taken:
        _kind, _rank, column = ranked.pop(0)
        fields[column] = Field.STUDENT_NO
        taken.add(Field.STUDENT_NO)
    for kind in (Field.SOURCED_ID, Field.STATE_ID):
        best = next((c for c in ranked if c[0] is kind), None)
        if best is not None and kind not in taken:
            fields[best[2]] = kind
            taken.add(kind)


FIELD_NAMES = [f.value for f in Field]


def parse_map_option(header: list[str], specs: list[str]) -> dict[str, str | None]:
    """``--map "Student ID=student_no"`` options as a mapping for auto_map: the column
    matched like auto_map does (case, spaces, underscores ignored), the field by its
    name or ``ignore``. Raises UnreadableFile naming the choices."""
    fields = {normalise_header(f): f for f in FIELD_NAMES}
    chosen: dict[str, str | None] = {}
    for spec in specs:
        column, equals, target = spec.rpartition("=")
        if not equals or not column.strip():
            raise UnreadableFile(f'--map "{spec}" is not COLUMN=FIELD, e.g. --map '
                                 '"Student ID=student_no".')  # fmt: skip
        name = _column_named(header, column)
        if name is None:
            raise UnreadableFile(f'--map "{spec}": the file has no column "{column.strip()}"; '
                                 f"its columns are {', '.join(header)}.")  # fmt: skip
        key = normalise_header(target)
        if key != "ignore" and key not in fields:
            raise UnreadableFile(f'--map "{spec}": "{target.strip()}" is not a field; use one '
                                 f"of {', '.join(FIELD_NAMES)} or ignore.")  # fmt: skip
        chosen[name] = None if key == "ignore" else fields[key]
    return chosen


def _column_named(header: list[str], typed: str) -> str | None:
    """The file's column ``typed`` names: written exactly, else ignoring case, else
    ignoring spaces, underscores and hyphens too."""
    typed = typed.strip()
    for same in (str, str.casefold, normalise_header):
        found = [h for h in header if same(h.strip()) == same(typed)]
        if found:
            return found[0]
    return None


def layout_key(header: list[str] | tuple[str, ...]) -> str:
    """A stable key for a header layout (the column names, normalised, in order): the
    wizard remembers the mapping chosen for a layout under it."""
    text = "\x1f".join(normalise_header(h) for h in header)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def check_mapping(mapping: ColumnMapping, file_name: str = "the file") -> None:
    """Raise UnreadableFile when the mapping cannot identify and name students."""
    for target in Field:
        positions = mapping.indexes_of(target)
        if len(positions) > 1 and target not in REPEATABLE:
            named = [f'{i + 1} ("{mapping.header[i]}")' for i in positions]
            raise UnreadableFile(
                f"{file_name}: columns {', '.join(named[:-1])} and {named[-1]} "
                f"{'both' if len(named) == 2 else 'all'} mean {FIELD_LABELS[target]}; "
                'remove one or map it with --map "COLUMN=ignore".'
            )
    if not (mapping.has(Field.STUDENT_NO) or mapping.has(Field.EMAIL)):
        raise UnreadableFile(
            f"{file_name} has no usable columns: no student number and no e-mail column to "
            f"match students by. Columns found: {', '.join(mapping.header)}. Map one of them "
            "to Student number or E-mail."
        )
    if not (mapping.has(Field.FULL_NAME) or mapping.has(Field.FIRST_NAME)
            or mapping.has(Field.LAST_NAME)):  # fmt: skip
        raise UnreadableFile(
            f"{file_name} has no name column. Columns found: {', '.join(mapping.header)}. "
            "Map a column to Full name, First name or Last name."
        )


def split_full_name(full: str) -> tuple[str, str]:
    """ "Kowalska, Anna" -> (Anna, Kowalska); "José García López" -> (José, García López).

    With a comma the family name comes first (the order registers print); otherwise the
    first word is the given name and the rest the family name, which keeps compound
    family names together.
    """
    full = " ".join(full.split())
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    first, _, last = full.partition(" ")
    return first, last
