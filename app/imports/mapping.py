"""Which column of the file means what: an alias table matched without regard to case,
spaces, underscores or hyphens, overridable by hand."""

from __future__ import annotations

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
}

_ALIASES: dict[Field | None, tuple[str, ...]] = {
    Field.STUDENT_NO: ("student_no", "studentno", "enrollment_no", "enrolment_no",
                       "student_id", "student number", "enrollment number", "pupil number",
                       "admission number", "matricule"),
    Field.FIRST_NAME: ("first_name", "firstname", "given name", "given_name", "forename",
                       "first"),
    Field.LAST_NAME: ("last_name", "lastname", "surname", "family name", "family_name",
                      "last"),
    Field.FULL_NAME: ("name", "full name", "full_name", "student name", "student_name",
                      "pupil name"),
    Field.EMAIL: ("email", "e-mail", "email address", "e-mail address", "mail",
                  "student email"),
    Field.CLASS_NAME: ("class_name", "class", "homeroom", "form", "tutor group"),
    Field.GRADE: ("grade", "grade_level", "year group", "year_level"),
    Field.BIRTH_DATE: ("birth_date", "birthdate", "date of birth", "dob", "birthday"),
    Field.STATUS: ("status", "student status", "enrollment status"),
    Field.COURSE: ("course", "course_name", "course name", "subject", "class subject"),
    # Known columns Rollbook deliberately does not import.
    None: ("team_number", "team", "team no"),
}  # fmt: skip


def normalise_header(header: str) -> str:
    return re.sub(r"[\s_\-.]+", "", header.strip().lower().lstrip("\ufeff"))


ALIAS_TABLE: dict[str, Field | None] = {
    normalise_header(alias): target for target, aliases in _ALIASES.items() for alias in aliases
}


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

    def has(self, field: Field) -> bool:
        return field in self.fields

    @property
    def unknown_columns(self) -> list[str]:
        return [h for h, f in zip(self.header, self.fields, strict=True)
                if f is None and normalise_header(h) not in ALIAS_TABLE]  # fmt: skip

    def as_dict(self) -> dict[str, str | None]:
        return {h: (f.value if f else None) for h, f in zip(self.header, self.fields, strict=True)}


def auto_map(header: list[str], remembered: dict[str, str | None] | None = None) -> ColumnMapping:
    """Map columns by the alias table; a mapping the person chose before wins."""
    remembered = remembered or {}
    fields: list[Field | None] = []
    taken: set[Field] = set()
    for column in header:
        key = normalise_header(column)
        if key in {normalise_header(k) for k in remembered}:
            chosen = next(v for k, v in remembered.items() if normalise_header(k) == key)
            target = Field(chosen) if chosen else None
        else:
            target = ALIAS_TABLE.get(key)
        if target in taken:
            target = None  # the first column with a meaning keeps it
        if target is not None:
            taken.add(target)
        fields.append(target)
    return ColumnMapping(tuple(header), tuple(fields))


def check_mapping(mapping: ColumnMapping, file_name: str = "the file") -> None:
    """Raise UnreadableFile when the mapping cannot identify and name students."""
    chosen = [f for f in mapping.fields if f is not None]
    duplicates = {f for f in chosen if chosen.count(f) > 1}
    if duplicates:
        names = ", ".join(FIELD_LABELS[f] for f in sorted(duplicates))
        raise UnreadableFile(f"More than one column is mapped to {names}; map each field once.")
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
