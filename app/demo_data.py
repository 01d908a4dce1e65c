"""Demo data: a believable school of any size, fast enough for a million students.

Used for demos, screenshots and benchmarks. Everything goes into one school that has
no students, courses or events yet, inside the caller's transaction (in a savepoint,
never committed here), so a failed or cancelled run leaves nothing behind.

It looks like a school at every size. Students sit in classes of 15 to 30 of one grade
("7B"); a class takes its two to four courses together, so every lesson (class_session)
belongs to one class and its register holds that class, never the whole grade. Events
have a venue's capacity and a waiting list, whatever the size of the school. A big
school records the lessons of a sample of its classes only (see ATTENDANCE_ROW_CAP).

Every row is built in Python and sent with COPY in large text batches; nothing is
inserted row by row. Students go in slices: each slice's students, enrollments, course
progress and session attendance are written before the next slice is built, so memory
stays flat whatever the size. Primary keys are time-ordered UUIDs (version 7, see
``TimeOrderedIds``) so the load appends to its indexes instead of scattering, and
big loads drop the foreign keys for the duration (see ``create_demo_data``). What
remains is the server's own work, mostly the student search vector and index entries.

The same seed gives the same students (names, numbers, e-mails, classes, statuses,
and birth dates within the same school year), enrollments, attendance and events.
Primary keys are fresh on every run, so demo rows never collide with rows of another
database this one may sync with. Dates are relative to today, so the data always has
a past (attendance, finished events) and a future (scheduled sessions, an open event).
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any, NamedTuple

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import inspect

from app.db.base import Base
from app.db.models import (
    Certificate,
    ClassSession,
    Course,
    CourseEnrollment,
    CourseProgress,
    EventAttendance,
    EventFeedback,
    EventRegistration,
    EventTeam,
    SessionAttendance,
    Student,
)
from app.db.staging import analyze_table
from app.domain.errors import Conflict, ValidationError
from app.domain.numbers import NumberKind, format_number, sequence_name, sequence_prefix
from app.jobs import Job

log = logging.getLogger(__name__)

ACTOR = "demo"
EMAIL_DOMAIN = "students.example.edu"

MAX_STUDENTS = 10_000_000
# From this size on the bulk tables' foreign keys are dropped and re-added around the
# load (see create_demo_data); below it the saving is not worth the locks.
FAST_LOAD_MIN_STUDENTS = 20_000
BULK_TABLES = (
    "class_session", "student", "course_enrollment", "course_progress", "session_attendance",
    "event_team", "event_registration", "event_attendance", "event_feedback", "certificate",
)  # fmt: skip
# Students per slice (see the module docstring) and rows per COPY write: big enough
# to keep the server busy, small enough that Cancel answers within a second or two.
STUDENT_BATCH = 20_000
COPY_BATCH = 10_000
# How many courses a class takes, picked uniformly from this tuple (mean 3).
COURSES_PER_CLASS = (2, 3, 3, 4)
# A grade with more students than this gets another class; the students of a grade are
# dealt out over its classes, so a class holds between half this and this many (only a
# tiny school's single class per grade can be smaller).
CLASS_SIZE_MAX = 30
# Session attendance for the whole school, about. A school whose lessons would have
# more marks records the lessons of a sample of its classes only (whole classes, so
# every recorded lesson still has its full register), and a million-student school is
# still created in about three minutes.
ATTENDANCE_ROW_CAP = 1_200_000

# --- names -------------------------------------------------------------------------
# Plenty of accents, apostrophes, hyphens and spaces: the search, sorting, CSV and
# Excel paths must all cope with them. Only letters the search fold knows
# (rollbook_fold) are used, so every name is findable by its plain-ASCII spelling.
# fmt: off
FIRST_NAMES = (
    "José", "Zoë", "Łukasz", "Chloé", "Søren", "Anne-Marie", "Noémie", "Björn",
    "Françoise", "Renée", "Aurélie", "Mátyás", "Jiří", "Ömer", "Çağla", "Şebnem",
    "Íñigo", "Aoife", "Siobhán", "Seán", "Niamh", "Máire", "Bartłomiej", "Zofia",
    "Małgorzata", "Wojciech", "Jürgen", "Jörg", "Käthe", "Hélène", "Maël", "Inès",
    "Léa", "Raphaël", "Thaïs", "Ángel", "Sofía", "Martín", "Lucía", "Begoña",
    "Joaquín", "Mónica", "João", "Gonçalo", "Luís", "Tomáš", "Věra", "Eliška",
    "Ondřej", "Åsa", "Linnéa", "Jean-Luc", "Noël", "Zoé", "Ñusta", "Dalibor",
    "Emma", "Olivia", "Liam", "Noah", "Mia", "Ava", "Ethan", "Lucas", "Amelia",
    "Harper", "Elijah", "James", "Benjamin", "Charlotte", "Isabella", "Sophia",
    "Mateo", "Leo", "Aarav", "Priya", "Ananya", "Rohan", "Wei", "Mei", "Hiroshi",
    "Yuki", "Sakura", "Min-jun", "Ji-woo", "Oluwaseun", "Chiamaka", "Kwame",
    "Amara", "Fatima", "Omar", "Layla", "Yusuf", "Aïcha", "Zaïd", "Mohammed",
    "Ingrid", "Mikkel", "Freya", "Oscar", "Hannah", "Jacob", "Grace", "Daniel",
    "Ella", "Samuel", "Nora", "Henry", "Alice", "Max", "Lily", "Adam", "Ruby",
    "Finn", "Ivy", "Kai", "Maya", "Tariq", "Aylin", "Nikolai", "Dmitri", "Katja",
)
LAST_NAMES = (
    "Müller", "Ñúñez", "Dvořák", "O'Brien", "García", "López", "Martínez",
    "Hernández", "Pérez", "González", "Rodríguez", "Sánchez", "Gómez", "Fernández",
    "Jiménez", "Álvarez", "Muñoz", "Peña", "Ibáñez", "García López", "Schröder",
    "Schäfer", "Köhler", "Krüger", "Jäger", "Hoffmann", "Schmidt", "Wagner",
    "Kowalski", "Wiśniewska", "Wójcik", "Kamiński", "Lewandowski", "Zieliński",
    "Szymańska", "Woźniak", "Dąbrowski", "Kozłowski", "Mazur", "Nováková",
    "Svoboda", "Černý", "Procházka", "Kučera", "Veselý", "Němec", "Pokorný",
    "Søndergaard", "Østergaard", "Jørgensen", "Lindqvist", "Åkesson", "Öberg",
    "Häggström", "Björklund", "Lefèvre", "Dubois", "Moreau", "Bénard", "Côté",
    "Gagné", "Lévesque", "Chevalier", "O'Connor", "O'Neill", "McCarthy",
    "MacDonald", "D'Angelo", "De la Cruz", "van Dijk", "de Vries", "Yılmaz",
    "Şahin", "Çelik", "Öztürk", "Popescu", "Ștefănescu", "Gonçalves", "Araújo",
    "Magalhães", "Simões", "Kovač", "Babić", "Jurić", "Petrović", "Đorđević",
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen",
    "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
    "Campbell", "Mitchell", "Evans", "Turner", "Nguyen", "Tran", "Kim", "Park",
    "Tanaka", "Suzuki", "Watanabe", "Wang", "Li", "Zhang", "Chen", "Singh",
    "Kumar", "Sharma", "Patel", "Okafor", "Adeyemi", "Mensah", "Haddad", "Rossi",
    "Russo", "Esposito", "Bianchi", "Romano", "Ricci", "Costa", "Silva", "Santos",
    "Oliveira", "Nowak", "Horvat", "Novak",
)
# fmt: on

# --- courses -----------------------------------------------------------------------


@dataclass(frozen=True)
class CourseSpec:
    code: str
    name: str
    grades: tuple[int, int]  # first and last grade that takes the course
    topics: tuple[str, ...]
    lab: bool = False  # double periods in a lab or studio


# fmt: off
COURSES = (
    CourseSpec("RDG1", "Reading & Phonics", (1, 3), ("Letter sounds", "Blending", "Sight words", "Story time")),
    CourseSpec("MAP1", "Primary Mathematics", (1, 5), ("Counting", "Addition", "Subtraction", "Shapes", "Times tables")),
    CourseSpec("NAT1", "Nature Studies", (1, 5), ("Seasons", "Plants", "Animals", "Weather")),
    CourseSpec("MUS1", "Music & Movement", (1, 4), ("Rhythm", "Singing", "Dance")),
    CourseSpec("ART1", "Arts and Crafts", (1, 5), ("Colours", "Collage", "Clay", "Printing"), lab=True),
    CourseSpec("ENG1", "English Language", (3, 8), ("Grammar", "Spelling", "Poetry", "Stories")),
    CourseSpec("MATH101", "Mathematics 101", (6, 8), ("Fractions", "Decimals", "Ratios", "Equations", "Geometry")),
    CourseSpec("BIO", "Biology", (7, 12), ("Cells", "Genetics", "Ecology", "Evolution", "Human body"), lab=True),
    CourseSpec("GEO", "Geography", (5, 10), ("Maps", "Climate", "Rivers", "Population")),
    CourseSpec("HIS", "History", (5, 10), ("Ancient Rome", "Middle Ages", "Industrial Revolution", "World War I")),
    CourseSpec("LIT", "English Literature", (7, 12), ("Shakespeare", "Poetry", "The novel", "Essay writing")),
    CourseSpec("FRA", "Français", (5, 12), ("Vocabulaire", "Conjugaison", "Lecture", "Expression orale")),
    CourseSpec("ESP", "Español", (5, 12), ("Vocabulario", "Gramática", "Conversación", "Cultura")),
    CourseSpec("DEU", "Deutsch", (7, 12), ("Wortschatz", "Grammatik", "Hörverstehen", "Landeskunde")),
    CourseSpec("PE", "Physical Education", (1, 12), ("Athletics", "Team games", "Gymnastics", "Swimming")),
    CourseSpec("ARTD", "Art & Design", (6, 12), ("Drawing", "Typography", "Colour theory", "Portfolio"), lab=True),
    CourseSpec("CS1", "Computer Science", (6, 9), ("Algorithms", "Scratch", "Networks", "Data")),
    CourseSpec("MUS2", "Music", (5, 12), ("Notation", "Composition", "Ensemble", "Music history")),
    CourseSpec("DRA", "Drama", (6, 12), ("Improvisation", "Stagecraft", "Script reading")),
    CourseSpec("ALG2", "Algebra II", (9, 10), ("Polynomials", "Functions", "Logarithms", "Sequences")),
    CourseSpec("CALC", "Calculus", (11, 12), ("Limits", "Derivatives", "Integrals", "Series")),
    CourseSpec("CHEM", "Chemistry", (9, 12), ("Atoms", "Bonding", "Reactions", "Stoichiometry"), lab=True),
    CourseSpec("PHYS", "Physics", (9, 12), ("Motion", "Forces", "Energy", "Waves", "Electricity"), lab=True),
    CourseSpec("WHIS", "World History", (9, 12), ("Empires", "Revolutions", "Cold War", "Decolonisation")),
    CourseSpec("ECON", "Economics", (10, 12), ("Supply and demand", "Markets", "Inflation", "Trade")),
    CourseSpec("STAT", "Statistics", (10, 12), ("Sampling", "Probability", "Regression", "Hypothesis tests")),
    CourseSpec("PROG", "Programming in Python", (9, 12), ("Variables", "Loops", "Functions", "Files", "Testing"), lab=True),
    CourseSpec("PSY", "Psychology", (11, 12), ("Memory", "Learning", "Development", "Social psychology")),
    CourseSpec("PHIL", "Philosophy & Ethics", (11, 12), ("Logic", "Ethics", "Knowledge", "Mind")),
    CourseSpec("CW", "Creative Writing", (8, 12), ("Short fiction", "Poetry", "Dialogue", "Editing")),
    CourseSpec("ENV", "Environmental Science", (8, 12), ("Ecosystems", "Energy", "Pollution", "Sustainability")),
    CourseSpec("ROBO", "Robotics Club", (6, 12), ("Sensors", "Motors", "Programming", "Competition prep"), lab=True),
    CourseSpec("LAT", "Latin", (9, 12), ("Declensions", "Caesar", "Virgil")),
    CourseSpec("ZHO", "Mandarin Chinese", (6, 12), ("Pinyin", "Characters", "Conversation")),
    CourseSpec("PHOT", "Photography", (10, 12), ("Exposure", "Composition", "Darkroom", "Editing"), lab=True),
    CourseSpec("HLTH", "Health & Wellbeing", (4, 9), ("Nutrition", "Sleep", "Friendship", "First aid")),
)
# fmt: on

# --- events ------------------------------------------------------------------------


@dataclass(frozen=True)
class EventSpec:
    name: str
    venue: str
    starts_in_days: int  # relative to today; negative = in the past
    days: int
    grades: tuple[int, int]
    share: float  # fraction of the eligible students who would like to take part
    capacity: int  # places; who registers once they are taken goes on the waiting list
    team_size: tuple[int, int] = (1, 1)
    allow_individual: bool = True
    team_share: float = 0.0  # fraction of the registered who take part as a team
    certificate_min_days: int = 1
    merit_share: float = 0.08
    winners: int = 3  # winning teams or individuals


# fmt: off
EVENTS = (
    EventSpec(
        name="Mathematics Olympiad", venue="Exam Hall", starts_in_days=-95, days=1,
        grades=(6, 12), share=0.08, capacity=60, merit_share=0.15,
    ),
    EventSpec(
        name="Science Fair", venue="Main Hall", starts_in_days=-60, days=2,
        grades=(5, 12), share=0.15, capacity=150, team_size=(2, 3), team_share=0.4,
    ),
    EventSpec(
        name="Sports Day", venue="Athletics Field", starts_in_days=-30, days=1,
        grades=(1, 12), share=0.40, capacity=400, merit_share=0.05,
    ),
    EventSpec(
        name="Spring Hackathon", venue="Computer Lab & Library", starts_in_days=-12, days=2,
        grades=(9, 12), share=0.12, capacity=48, team_size=(2, 4), allow_individual=False,
        team_share=1.0, certificate_min_days=2,
    ),
    EventSpec(
        name="Art & Design Exhibition", venue="Gallery Café", starts_in_days=12, days=3,
        grades=(4, 12), share=0.10, capacity=40, certificate_min_days=2,
    ),
)
# Registrations stop once the waiting list is this share of the places.
WAITING_LIST_SHARE = 0.2

TEAM_ADJECTIVES = (
    "Quantum", "Crimson", "Silent", "Electric", "Golden", "Clever", "Cosmic", "Brave",
    "Swift", "Lucky", "Curious", "Mighty", "Atomic", "Polar", "Sonic", "Rusty", "Neon",
    "Wild", "Jolly", "Binary",
)
TEAM_NOUNS = (
    "Quokkas", "Falcons", "Otters", "Pixels", "Comets", "Foxes", "Koalas", "Robots", "Owls",
    "Lynxes", "Rockets", "Pandas", "Dolphins", "Hedgehogs", "Wombats", "Penguins",
    "Badgers", "Ravens", "Tigers", "Ferrets",
)
FEEDBACK_COMMENTS = (
    "Loved it!", "Great organisation, thank you.", "Too long for one day.",
    "The judges were really helpful.", "More water stations next time, please.",
    "Could we get the schedule earlier?", "Best day of the year.",
    "The room was too crowded.", "Très bien organisé !", "¡Muy divertido!",
)
# fmt: on

# --- session shape -----------------------------------------------------------------
PERIOD_STARTS = tuple(
    clock(h, m) for h, m in ((8, 0), (8, 55), (9, 50), (10, 45), (11, 40), (13, 0), (13, 55))
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
ROOMS = ("Room 101", "Room 102", "Room 114", "Room 204", "Room 210", "Library", "Gym")
LAB_ROOMS = ("Science Lab 1", "Science Lab 2", "Studio A", "Computer Lab")

# Weighted pick tables: one random index into a 100-entry list gives the distribution.
ATTENDANCE_STATUSES = ["present"] * 86 + ["late"] * 6 + ["absent"] * 5 + ["excused"] * 3
# An excused absence carries its reason (the school's rule, on by default); a late
# arrival how late, in minutes. Both as COPY text: the note, a tab, the minutes.
EXCUSES = ("Doctor's appointment", "Ill", "Family matter", "School trip", "Dentist",
           "Music exam", "Religious holiday")  # fmt: skip
FEEDBACK_RATINGS = (5, 5, 5, 5, 4, 4, 4, 3, 3, 2, 1)

# Share of each series' sessions that lie in the past (and have attendance).
PAST_SHARE = 0.65

SECTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_ASCII_EXTRA = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ı": "i"})
_NOT_EMAIL = re.compile(r"[^a-z0-9-]+")

NULL = "\\N"  # COPY text format


def copy_into(model: type[Base], *attributes: str) -> str:
    """``COPY table (columns) FROM STDIN`` for a model, its columns named by the model's
    attributes in the order the rows are written.

    Worked out when this module is imported, so a column renamed or dropped in the
    models stops the import with its name, instead of a COPY that still matches the
    table's column count filling the wrong columns.
    """
    table = model.__table__
    mapped = inspect(model).column_attrs
    names = []
    for attribute in attributes:
        prop = mapped.get(attribute)
        column = prop.columns[0] if prop is not None and len(prop.columns) == 1 else None
        if column is None or column.table is not table or column.computed is not None:
            raise AttributeError(
                f"demo data writes {model.__name__}.{attribute}, which is not a stored "
                f"column of table {table.name}"
            )
        names.append(column.name)
    return f"COPY {table.name} ({', '.join(names)}) FROM STDIN"


# Attribute order = the order of the values in each row written below.
STUDENT_COPY = copy_into(
    Student, "id", "school_id", "student_no", "first_name", "last_name", "email",
    "class_name", "grade_level", "birth_date", "status",
)  # fmt: skip
ENROLLMENT_COPY = copy_into(
    CourseEnrollment, "id", "school_id", "course_id", "student_id", "active", "enrolled_on",
    "ended_on", "source",
)  # fmt: skip
PROGRESS_COPY = copy_into(
    CourseProgress, "id", "school_id", "student_id", "course_id", "percent", "last_activity_at"
)
ATTENDANCE_COPY = copy_into(
    SessionAttendance, "id", "school_id", "session_id", "enrollment_id", "status", "note",
    "minutes_late", "marked_at", "marked_by",
)  # fmt: skip
SESSION_COPY = copy_into(
    ClassSession, "id", "school_id", "course_id", "class_name", "session_date", "start_time",
    "end_time", "session_mode", "location", "topics", "topics_covered",
    "teacher_attendance_status", "priority_level", "is_recurring", "session_frequency",
    "recurring_pattern", "series_id",
    "notification_enabled", "alarm_enabled", "alarm_before_minutes", "is_featured", "status",
)  # fmt: skip
COURSE_COPY = copy_into(Course, "id", "school_id", "code", "name", "term", "active")
TEAM_COPY = copy_into(EventTeam, "id", "school_id", "event_id", "name")
REGISTRATION_COPY = copy_into(
    EventRegistration, "id", "school_id", "event_id", "student_id", "team_id",
    "registration_no", "status", "created_at",
)  # fmt: skip
EVENT_ATTENDANCE_COPY = copy_into(
    EventAttendance, "id", "school_id", "registration_id", "attended_on", "checked_in_at"
)
FEEDBACK_COPY = copy_into(EventFeedback, "id", "school_id", "registration_id", "rating", "comments")
CERTIFICATE_COPY = copy_into(
    Certificate, "id", "school_id", "registration_id", "kind", "certificate_no", "issued_at",
    "issued_by", "revoked_at", "revoke_reason",
)  # fmt: skip


@dataclass(frozen=True)
class DemoDataSummary:
    students: int
    courses: int
    enrollments: int
    sessions: int
    session_attendance: int
    events: int
    teams: int
    registrations: int
    event_attendance: int
    certificates: int
    feedback: int
    seconds: float
    requests: int = 0


# --- small helpers -----------------------------------------------------------------


class TimeOrderedIds:
    """UUIDs of version 7 (RFC 9562), strictly increasing, as 32 hex digits.

    Why not uuid4: random keys scatter a million inserts over every primary-key and
    foreign-key index, and each checkpoint then re-logs whole index pages. Keys that
    grow with insertion order append at the right edge instead, which cuts the bulk
    load by about a third. They are as unique as any UUIDv7: a millisecond timestamp,
    a 26-bit counter (RFC 9562 "method 1") and 48 random bits.
    """

    _VERSION_AND_VARIANT = (0x7 << 76) | (0b10 << 62)

    def __init__(self) -> None:
        self._ms = time.time_ns() // 1_000_000
        self._counter = 0
        # Seeded from os.urandom; the random tail only guards against other databases.
        self._random = random.Random()

    def take(self, count: int) -> list[str]:
        getrandbits = self._random.getrandbits
        ids: list[str] = []
        for n in range(self._counter, self._counter + count):
            # Past 2**26 ids the counter wraps into the next millisecond: still increasing.
            high = ((self._ms + (n >> 26)) << 80) | self._VERSION_AND_VARIANT
            counter = n & 0x3FFFFFF
            value = high | ((counter >> 14) << 64) | ((counter & 0x3FFF) << 48) | getrandbits(48)
            ids.append(f"{value:032x}")
        self._counter += count
        return ids

    def take_uuid(self) -> uuid.UUID:
        return uuid.UUID(self.take(1)[0])


def ascii_fold(text: str) -> str:
    """Lower-case plain ASCII for e-mail addresses: "Anne-Marie O'Brien" -> "anne-marieobrien"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_EXTRA))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_EMAIL.sub("", plain.lower())


def school_year_start(today: date) -> date:
    # The school year starts on 1 September; the summer counts as the coming year.
    year = today.year if today.month >= 8 else today.year - 1
    return date(year, 9, 1)


def term_label(today: date) -> str:
    start = school_year_start(today).year
    return f"{start}/{(start + 1) % 100:02d}"


def classes_for(students_in_grade: int) -> int:
    # None for a grade without students: no lessons with an empty register.
    return math.ceil(students_in_grade / CLASS_SIZE_MAX)


def class_name(grade: int, section: int, classes_in_grade: int) -> str:
    """Class names as schools write them, "7A" to "7Z"; a grade with more classes than
    letters numbers them instead ("7-001"), zero-padded so that the names sort in order."""
    if classes_in_grade <= len(SECTION_LETTERS):
        return f"{grade}{SECTION_LETTERS[section]}"
    return f"{grade}-{section + 1:0{len(str(classes_in_grade))}d}"


def sessions_per_series(students: int) -> int:
    # A longer history for a bigger demo; attendance stays near ATTENDANCE_ROW_CAP
    # anyway (a longer series means fewer classes recorded).
    if students <= 2_000:
        return 12
    if students <= 50_000:
        return 20
    return 26


class _Progress:
    """Turns stage-local fractions into one done/total for the job, weighted by cost."""

    def __init__(self, job: Job | None, weights: dict[str, float]) -> None:
        self._job = job
        self._weights = weights
        self._total = sum(weights.values())
        self._base = 0.0
        self._stage = ""
        self._stage_started = time.perf_counter()

    def start(self, stage: str) -> None:
        self._end_stage()
        self._stage = stage

    def _end_stage(self) -> None:
        now = time.perf_counter()
        if self._stage:
            self._base += self._weights[self._stage]
            log.debug("demo data: %s took %.1f s", self._stage, now - self._stage_started)
        self._stage_started = now

    def report(self, fraction: float, text: str) -> None:
        if self._job is None:
            return
        self._job.check_cancel()
        done = self._base + self._weights[self._stage] * min(1.0, max(0.0, fraction))
        # Job counts in integers: report in thousandths of the whole run.
        self._job.progress(round(1000 * done / self._total), 1000, text)

    def finish(self, text: str) -> None:
        self._end_stage()
        self._stage = ""
        if self._job is not None:
            self._job.progress(1000, 1000, text)


@dataclass
class _Run:
    """What every stage needs: the connection, the school, the clock, ids and RNGs."""

    conn: psycopg.Connection
    school_id: uuid.UUID
    seed: int
    progress: _Progress
    sessions_per_series: int
    ids: TimeOrderedIds = field(default_factory=TimeOrderedIds)
    today: date = field(default_factory=date.today)

    @property
    def school(self) -> str:
        return self.school_id.hex

    def rng(self, stage: str) -> random.Random:
        # One independent stream per stage: changing how events are built never
        # changes the students a seed gives. str seeds are hashed deterministically.
        return random.Random(f"rollbook-demo:{self.seed}:{stage}")

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def copy(
        self,
        statement: str,
        lines: Iterable[str],
        tick: Callable[[], None] | None = None,
    ) -> int:
        """COPY pre-formatted text lines in batches (``statement`` from copy_into);
        returns the number of rows."""
        rows = 0
        batch: list[str] = []
        cursor = self.conn.cursor()
        # The queued writer sends from a thread, so building the next batch overlaps
        # with the server digesting this one (~10% faster than writing inline).
        with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            for line in lines:
                batch.append(line)
                if len(batch) >= COPY_BATCH:
                    copy.write("".join(batch))
                    rows += len(batch)
                    batch.clear()
                    if tick is not None:
                        tick()  # may raise Cancelled: the COPY fails, the savepoint rolls back
            if batch:
                copy.write("".join(batch))
                rows += len(batch)
        return rows


@dataclass
class _Students:
    """The students, kept compactly for the later stages.

    Grades are drawn for the whole school first: the classes and the timetable are
    planned from how many students each grade has, before the first student is written.
    Ids and statuses follow as the students are created.
    """

    grades: bytearray  # grade level per student
    ids: bytearray = field(default_factory=bytearray)  # 16 bytes per student
    active: bytearray = field(default_factory=bytearray)  # 1 = status active

    @classmethod
    def drawn(cls, count: int, rng: random.Random) -> _Students:
        return cls(grades=bytearray(rng.choices(range(1, 13), k=count)))

    @property
    def count(self) -> int:
        return len(self.grades)

    def id_hex(self, index: int) -> str:
        return self.ids[16 * index : 16 * index + 16].hex()

    def id(self, index: int) -> uuid.UUID:
        return uuid.UUID(bytes=bytes(self.ids[16 * index : 16 * index + 16]))


@dataclass(frozen=True)
class _Course:
    id: uuid.UUID
    spec: CourseSpec


class _Attended(NamedTuple):
    """A completed session as attendance needs it."""

    day: int  # days relative to today (< 0)
    id: str
    marked_at: str


class _Enrollment(NamedTuple):
    id: str
    student: str
    course_id: str
    joined: int  # days relative to today (<= 0)
    ended: int | None  # days relative to today, None while active
    register: Sequence[_Attended]  # the completed lessons of the student's class


@dataclass(frozen=True)
class _Class:
    name: str  # "7B"
    grade: int
    courses: tuple[int, ...]  # indexes into the course list; the whole class takes them
    recorded: bool  # whether its lessons are in the demo (all of them in most schools)


@dataclass
class _Timetable:
    """The classes of every grade and the completed lessons of each (class, course).

    The n-th student of a grade goes to class n modulo the grade's classes, so the
    classes of a grade differ in size by one student at most.
    """

    classes: list[_Class]
    first_class: dict[int, int]  # grade -> index of its first class
    classes_in_grade: dict[int, int]
    registers: dict[tuple[int, int], list[_Attended]] = field(default_factory=dict)
    sessions: int = 0

    def class_of(self, grade: int, nth_in_grade: int) -> int:
        return self.first_class[grade] + nth_in_grade % self.classes_in_grade[grade]


@dataclass
class _BodyCounts:
    enrollments: int = 0
    attendance: int = 0


# --- entry point -------------------------------------------------------------------


def create_demo_data(
    conn: psycopg.Connection,
    school_id: uuid.UUID,
    *,
    students: int,
    seed: int = 1,
    job: Job | None = None,
) -> DemoDataSummary:
    """Fill an empty school with ``students`` students and everything around them.

    Runs inside the caller's transaction and never commits: all of it happens in a
    savepoint, so an error or a Cancel undoes this call's work and leaves the caller's
    transaction as it was. Raises ``ValidationError`` for a bad size, ``Conflict`` if
    the school already has students, courses or events, and ``Cancelled`` (from the
    job) between batches.

    From FAST_LOAD_MIN_STUDENTS students on, the foreign keys of BULK_TABLES are
    dropped for the load and added back, unchanged, at the end (PostgreSQL's own
    bulk-load advice; adding a key back checks every row in one join). That holds
    exclusive locks on those tables and the tables they reference (school, course,
    class_session, event, ...) until the caller commits or rolls back, so other
    sessions touching them wait. It is skipped, and rows are checked one by one
    instead (about 1.5x slower), when the role does not own the tables or another
    session holds a lock on one of them.
    """
    if not 1 <= students <= MAX_STUDENTS:
        raise ValidationError(
            "students", f"Demo data needs between 1 and {MAX_STUDENTS:,} students."
        )
    if conn.autocommit:
        # A savepoint needs an enclosing transaction; without one we would commit.
        raise ValueError("create_demo_data needs a connection inside a transaction.")
    started = time.perf_counter()
    run = _Run(
        conn=conn,
        school_id=school_id,
        seed=seed,
        progress=_Progress(job, _stage_weights(students)),
        sessions_per_series=sessions_per_series(students),
    )
    _ensure_empty_school(run)  # also opens the caller's transaction if not yet open

    with conn.transaction():  # a savepoint inside the caller's transaction
        run.progress.start("setup")
        bulk = _begin_bulk_load(run) if students >= FAST_LOAD_MIN_STUDENTS else None
        courses = _insert_courses(run)
        book = _Students.drawn(students, run.rng("grades"))
        timetable = _plan_timetable(run, book, courses)
        run.progress.start("sessions")
        _insert_class_sessions(run, courses, timetable)
        run.progress.start("students")
        body = _insert_students_and_classes(run, courses, timetable, book)
        run.progress.start("analyze")
        _analyze(run, ANALYZED_FIRST)
        run.progress.start("events")
        requests = _insert_requests(run, courses)
        events = _insert_events(run, book)
        run.progress.start("analyze events")
        _analyze(run, ANALYZED_LAST)
        run.progress.start("verify")
        _end_bulk_load(run, bulk)

    seconds = time.perf_counter() - started
    run.progress.finish(f"Demo school ready: {students:,} students in {seconds:.0f} s")
    return DemoDataSummary(
        students=students,
        courses=len(courses),
        enrollments=body.enrollments,
        sessions=timetable.sessions,
        session_attendance=body.attendance,
        events=events.events,
        teams=events.teams,
        registrations=events.registrations,
        event_attendance=events.attendance,
        certificates=events.certificates,
        feedback=events.feedback,
        seconds=seconds,
        requests=requests,
    )


def _stage_weights(students: int) -> dict[str, float]:
    # Rough seconds per million students, measured; only the shares matter.
    scale = students / 1_000_000
    return {
        "setup": 0.1,
        # The lessons stop growing once the school records a sample of its classes.
        "sessions": min(100 * scale, 3) + 0.1,
        "students": 165 * scale + 0.5,
        "analyze": 20 * scale + 0.1,
        "events": 4 * scale + 0.2,
        "analyze events": 0.1,
        "verify": 10 * scale,
    }


def _ensure_empty_school(run: _Run) -> None:
    row = run.conn.execute(
        """
        SELECT (SELECT count(*) FROM student WHERE school_id = %(s)s AND deleted_at IS NULL),
               (SELECT count(*) FROM course WHERE school_id = %(s)s AND deleted_at IS NULL),
               (SELECT count(*) FROM event WHERE school_id = %(s)s AND deleted_at IS NULL)
        """,
        {"s": run.school_id},
    ).fetchone()
    assert row is not None
    if any(row):
        raise Conflict(
            "Demo data goes into an empty school, but this one already has "
            f"{row[0]:,} students, {row[1]:,} courses and {row[2]:,} events. "
            "Create a new school (or a new data folder) for the demo."
        )


# --- bulk-load mode ----------------------------------------------------------------


@dataclass(frozen=True)
class _ForeignKey:
    # Tables as regclass prints them: already quoted (and qualified) where needed.
    table: str
    name: str
    definition: str  # as pg_get_constraintdef() prints it, so it comes back unchanged
    parent: str


@dataclass(frozen=True)
class _BulkLoad:
    """What _begin_bulk_load changed, for _end_bulk_load to put back."""

    keys: list[_ForeignKey]
    settings: dict[str, str]  # transaction-local settings and their previous values


# A bigger GIN pending list means fewer, larger merges into the student search index
# (about 10% off the student rows); _end_bulk_load merges what is left.
BULK_SETTINGS = {"gin_pending_list_limit": "64MB"}


def _begin_bulk_load(run: _Run) -> _BulkLoad | None:
    """Drop the bulk tables' foreign keys, if that is possible without waiting.

    Checking a foreign key costs a query per row: for the million-row tables that is
    about 40% of the whole load. Returns None (and changes nothing) when the role does
    not own the tables or another session holds a lock on one of them.
    """
    keys = [
        _ForeignKey(*row)
        for row in run.conn.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid),
                   c.confrelid::regclass::text
            FROM pg_constraint c
            WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[])
            ORDER BY c.conrelid::regclass::text, c.conname
            """,
            (list(BULK_TABLES),),
        ).fetchall()
    ]
    tables = sorted({k.table for k in keys} | {k.parent for k in keys})
    owned = run.conn.execute(
        "SELECT bool_and(pg_has_role(current_user, relowner, 'USAGE')) "
        "FROM pg_class WHERE oid = ANY(%s::regclass[])",
        (tables,),
    ).fetchone()
    if not keys or not owned or not owned[0]:
        log.info("demo data: rows checked one by one (the tables belong to another role)")
        return None
    lock = sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE NOWAIT").format(
        sql.SQL(", ").join(sql.SQL(t) for t in tables)
    )
    try:
        with run.conn.transaction():  # a refused lock must not abort the caller's work
            run.conn.execute(lock)
    except psycopg.errors.LockNotAvailable:
        log.info("demo data: rows checked one by one (another session uses the tables)")
        return None
    for key in keys:
        run.conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.SQL(key.table), sql.Identifier(key.name)
            )
        )
    return _BulkLoad(keys, _set_local(run, BULK_SETTINGS))


def _end_bulk_load(run: _Run, load: _BulkLoad | None) -> None:
    """Add the dropped keys back as they were; PostgreSQL checks every row while adding."""
    if load is None:
        return
    # Each check is one join; enough memory keeps it from spilling to disk.
    work_mem = _set_local(run, {"work_mem": "256MB"})
    for n, key in enumerate(load.keys):
        run.progress.report(n / len(load.keys), "Checking references between the new rows")
        run.conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.SQL(key.table), sql.Identifier(key.name), sql.SQL(key.definition)
            )
        )
    # Searches would otherwise scan the leftover pending list until autovacuum runs.
    run.conn.execute(
        """
        SELECT gin_clean_pending_list(x.indexrelid::regclass)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_am a ON a.oid = i.relam
        WHERE a.amname = 'gin' AND x.indrelid = ANY(%s::regclass[])
        """,
        (list(BULK_TABLES),),
    )
    _set_local(run, load.settings | work_mem)


def _set_local(run: _Run, settings: dict[str, str]) -> dict[str, str]:
    """Set settings until the end of the transaction; returns their previous values."""
    previous: dict[str, str] = {}
    for name, value in settings.items():
        row = run.conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
        assert row is not None
        previous[name] = row[0]
        run.conn.execute("SELECT set_config(%s, %s, true)", (name, value))
    return previous


# --- courses and sessions ----------------------------------------------------------


def _insert_courses(run: _Run) -> list[_Course]:
    courses = [_Course(run.ids.take_uuid(), spec) for spec in COURSES]
    term = term_label(run.today)
    with run.conn.cursor().copy(COURSE_COPY) as copy:
        for course in courses:
            spec = course.spec
            copy.write_row((course.id, run.school_id, spec.code, spec.name, term, True))
    return courses


def _courses_by_grade(courses: Sequence[_Course]) -> dict[int, list[int]]:
    by_grade = {
        grade: [i for i, c in enumerate(courses) if c.spec.grades[0] <= grade <= c.spec.grades[1]]
        for grade in range(1, 13)
    }
    # Every grade must offer at least as many courses as a class takes.
    assert all(len(options) >= max(COURSES_PER_CLASS) for options in by_grade.values())
    return by_grade


def _plan_timetable(run: _Run, book: _Students, courses: Sequence[_Course]) -> _Timetable:
    """The classes of each grade, the courses each class takes, and which classes have
    their lessons recorded: all of them unless that would pass ATTENDANCE_ROW_CAP."""
    rng = run.rng("timetable")
    by_grade = _courses_by_grade(courses)
    sizes = {grade: book.grades.count(grade) for grade in range(1, 13)}
    counts = {grade: classes_for(size) for grade, size in sizes.items()}
    past = math.ceil(run.sessions_per_series * PAST_SHARE)
    mean_courses = sum(COURSES_PER_CLASS) / len(COURSES_PER_CLASS)
    marks = book.count * mean_courses * past
    recorded_share = min(1.0, ATTENDANCE_ROW_CAP / marks) if marks else 1.0
    classes: list[_Class] = []
    first_class: dict[int, int] = {}
    for grade in range(1, 13):
        first_class[grade] = len(classes)
        offered = _courses_in_turn(rng, by_grade[grade])
        for section in range(counts[grade]):
            taken: list[int] = []
            wanted = COURSES_PER_CLASS[rng.randrange(len(COURSES_PER_CLASS))]
            while len(taken) < wanted:
                course = next(offered)
                if course not in taken:
                    taken.append(course)
            n = len(classes)
            # Every (1 / recorded_share)-th class: a sampled school has lessons in every grade.
            recorded = math.floor((n + 1) * recorded_share) > math.floor(n * recorded_share)
            name = class_name(grade, section, counts[grade])
            classes.append(_Class(name, grade, tuple(sorted(taken)), recorded))
    return _Timetable(classes, first_class, counts)


def _courses_in_turn(rng: random.Random, options: Sequence[int]) -> Iterator[int]:
    """The grade's courses in a shuffled order, over and over: the classes of a grade
    share its courses out evenly, and a bigger school runs every course it offers."""
    order = list(options)
    while True:
        rng.shuffle(order)
        yield from order


def _insert_class_sessions(run: _Run, courses: Sequence[_Course], timetable: _Timetable) -> None:
    """A weekly (some fortnightly) series per class and course, two thirds of it in the past."""
    rng = run.rng("sessions")
    series = sum(len(c.courses) for c in timetable.classes if c.recorded)

    def tick() -> None:
        run.progress.report(len(timetable.registers) / max(1, series), "Creating the timetable")

    timetable.sessions = run.copy(SESSION_COPY, _lesson_lines(run, rng, courses, timetable), tick)


def _lesson_lines(
    run: _Run, rng: random.Random, courses: Sequence[_Course], timetable: _Timetable
) -> Iterator[str]:
    """COPY text for the lessons of the recorded classes; fills timetable.registers."""
    # A class has each of its courses in a slot of its own in the week.
    slots = [(day, start) for start in PERIOD_STARTS for day in range(len(WEEKDAYS))]
    for index, klass in enumerate(timetable.classes):
        if not klass.recorded:
            continue
        for course, (weekday, start) in zip(
            klass.courses, rng.sample(slots, len(klass.courses)), strict=True
        ):
            completed = timetable.registers[index, course] = []
            yield from _series_lines(run, rng, courses[course], klass.name, weekday, start,
                                     completed)  # fmt: skip


def _series_lines(
    run: _Run,
    rng: random.Random,
    course: _Course,
    class_name: str,
    weekday: int,
    start: clock,
    completed: list[_Attended],
) -> Iterator[str]:
    """One class's lessons of one course; the completed ones are appended to completed."""
    spec = course.spec
    count = run.sessions_per_series
    fortnightly = rng.random() < 0.2
    step = 14 if fortnightly else 7
    past = math.ceil(count * PAST_SHARE)
    # The series' weekday strictly before today, then `past - 1` steps further back.
    last_past = run.today - timedelta(days=(run.today.weekday() - weekday) % 7 or 7)
    first = last_past - timedelta(days=step * (past - 1))
    minutes = 90 if spec.lab else rng.choice((45, 50))
    end = (datetime.combine(first, start) + timedelta(minutes=minutes)).time()
    mode = rng.choices(("in-person", "hybrid", "online"), (85, 10, 5))[0]
    location = (
        "Online (video call)" if mode == "online" else rng.choice(LAB_ROOMS if spec.lab else ROOMS)
    )
    alarm = rng.random() < 0.25
    alarm_minutes = rng.choice((5, 10, 15, 30)) if alarm else 15
    # What every lesson of the series shares, in SESSION_COPY's column order.
    series_id, *ids = run.ids.take(1 + count)
    pattern = _copy_json({"days": [WEEKDAYS[weekday]], "months": [], "specific_dates": []})
    school, course_id = run.school, course.id.hex
    frequency = "bi-weekly" if fortnightly else "weekly"
    for n, session_id in enumerate(ids):
        day = first + timedelta(days=step * n)
        is_past = day < run.today
        cancelled = is_past and rng.random() < 0.04
        topics = _copy_json(rng.sample(spec.topics, min(len(spec.topics), rng.randint(1, 2))))
        status = "cancelled" if cancelled else "completed" if is_past else "scheduled"
        teacher = NULL
        if is_past:
            teacher = "absent" if cancelled else rng.choices(("present", "late"), (95, 5))[0]
        priority = rng.choices(("low", "medium", "high", "urgent"), (15, 65, 17, 3))[0]
        if status == "completed":
            marked_at = datetime.combine(day, end) - timedelta(minutes=3)
            completed.append(
                _Attended((day - run.today).days, session_id, f"{marked_at:%Y-%m-%d %H:%M:%S}")
            )
        notify, featured = rng.random() < 0.9, rng.random() < 0.05
        yield (
            f"{session_id}\t{school}\t{course_id}\t{class_name}\t{day}\t{start}\t{end}\t"
            f"{mode}\t{location}\t"
            f"{topics}\t{topics if status == 'completed' else '[]'}\t{teacher}\t{priority}\t"
            f"t\t{frequency}\t{pattern}\t{series_id}\t{_copy_bool(notify)}\t"
            f"{_copy_bool(alarm)}\t{alarm_minutes}\t{_copy_bool(featured)}\t{status}\n"
        )


def _copy_json(value: Any) -> str:
    # COPY's text format reads a backslash as an escape: JSON's own escapes need doubling.
    return json.dumps(value, ensure_ascii=False).replace("\\", "\\\\")


def _copy_bool(value: bool) -> str:
    return "t" if value else "f"


# --- students, enrollments, progress, attendance -------------------------------------


def _insert_students_and_classes(
    run: _Run,
    courses: Sequence[_Course],
    timetable: _Timetable,
    book: _Students,
) -> _BodyCounts:
    """Students and their enrollments, progress and attendance, one slice at a time.

    Each slice of students goes through all four tables before the next starts, so
    memory stays flat and the rows of a slice are still in cache when the foreign-key
    checks of the next table look them up.
    """
    counts = _BodyCounts()
    count = book.count
    students = _StudentMaker(run, count, timetable)
    enrollments = _EnrollmentMaker(run, courses, timetable)
    progress = _ProgressMaker(run)
    attendance = _AttendanceMaker(run)

    for start in range(0, count, STUDENT_BATCH):
        stop = min(count, start + STUDENT_BATCH)

        def tick(start: int = start) -> None:
            run.progress.report(start / count, f"Creating students ({start:,} of {count:,})")

        tick()
        classes: list[int] = []
        run.copy(STUDENT_COPY, students.lines(book, start, stop, classes), tick)
        slice_: list[_Enrollment] = []
        counts.enrollments += run.copy(
            ENROLLMENT_COPY, enrollments.lines(book, start, classes, slice_)
        )
        run.copy(PROGRESS_COPY, progress.lines(slice_))
        counts.attendance += run.copy(ATTENDANCE_COPY, attendance.lines(slice_), tick)
    run.progress.report(1.0, f"Created {count:,} students")
    return counts


class _StudentMaker:
    """Student rows from the seed: the same seed always gives the same students."""

    def __init__(self, run: _Run, count: int, timetable: _Timetable) -> None:
        self._run = run
        self._rng = run.rng("students")
        self._width = max(7, len(str(count)))
        self._timetable = timetable
        self._placed = dict.fromkeys(range(1, 13), 0)  # students of each grade so far
        self._firsts = [(name, ascii_fold(name)) for name in FIRST_NAMES]
        self._lasts = [(name, ascii_fold(name)) for name in LAST_NAMES]
        self._birth_days = _birth_days_by_grade(run.today)

    def lines(self, book: _Students, start: int, stop: int, classes: list[int]) -> Iterator[str]:
        """COPY text for students start..stop-1; records their ids and status in book,
        and appends the index of each one's class to classes."""
        ids = self._run.ids.take(stop - start)
        book.ids += bytes.fromhex("".join(ids))
        school, timetable, placed = self._run.school, self._timetable, self._placed
        firsts, lasts = self._firsts, self._lasts
        random_, randrange = self._rng.random, self._rng.randrange
        for k, student_id in enumerate(ids, start):
            first, first_ascii = firsts[randrange(len(firsts))]
            last, last_ascii = lasts[randrange(len(lasts))]
            grade = book.grades[k]
            klass = timetable.class_of(grade, placed[grade])
            placed[grade] += 1
            classes.append(klass)
            number = k + 1
            roll = random_()
            # A few students left or paused; most are active.
            status = "active" if roll < 0.96 else "inactive" if roll < 0.985 else "withdrawn"
            # The youngest have no school e-mail yet, and a few older ones never gave one.
            has_email = grade > 2 and random_() >= 0.02
            email = f"{first_ascii}.{last_ascii}{number}@{EMAIL_DOMAIN}" if has_email else NULL
            days = self._birth_days[grade]
            book.active.append(status == "active")
            yield (
                f"{student_id}\t{school}\tS{number:0{self._width}d}\t{first}\t{last}\t{email}\t"
                f"{timetable.classes[klass].name}\t{grade}\t"
                f"{days[randrange(len(days))]}\t{status}\n"
            )


def _birth_days_by_grade(today: date) -> dict[int, list[str]]:
    """ISO birth dates per grade: grade g turns 5+g during the school year."""
    year = school_year_start(today).year
    result: dict[int, list[str]] = {}
    for grade in range(1, 13):
        # Born between 2 Sept and 1 Sept of the following year, 6+g years before.
        first = date(year - 6 - grade, 9, 2)
        last = date(year - 5 - grade, 9, 1)
        result[grade] = [
            (first + timedelta(days=d)).isoformat() for d in range((last - first).days + 1)
        ]
    return result


class _EnrollmentMaker:
    """The courses of the student's class, most enrolled from before the first lesson."""

    def __init__(self, run: _Run, courses: Sequence[_Course], timetable: _Timetable) -> None:
        self._run = run
        self._rng = run.rng("enrollments")
        self._timetable = timetable
        self._course_hex = [c.id.hex for c in courses]
        # A week before the earliest first session (fortnightly series reach furthest).
        past = math.ceil(run.sessions_per_series * PAST_SHARE)
        self._term_start = -(7 + 14 * (past - 1)) - 7
        self._day_text = {d: run.day(d).isoformat() for d in range(self._term_start - 15, 1)}

    def lines(
        self, book: _Students, start: int, classes: Sequence[int], out: list[_Enrollment]
    ) -> Iterator[str]:
        """COPY text for the enrollments of the students from start on, in classes (one
        class index per student); also appended to out."""
        random_, randrange = self._rng.random, self._rng.randrange
        school, day_text, term_start = self._run.school, self._day_text, self._term_start
        all_classes, registers = self._timetable.classes, self._timetable.registers
        for k, klass in enumerate(classes, start):
            student = book.id_hex(k)
            # Students who left or paused keep their history, but it has ended.
            gone = not book.active[k]
            picks = all_classes[klass].courses
            ids = self._run.ids.take(len(picks))
            for enrollment_id, course in zip(ids, picks, strict=True):
                # Most enrolled in the fortnight before term, a few joined since.
                if random_() < 0.95:
                    joined = term_start - randrange(15)
                else:
                    joined = term_start + randrange(-term_start)
                ended = None
                if gone or random_() < 0.05:
                    ended = joined + randrange(1 - joined)  # between joining and today
                course_id = self._course_hex[course]
                register = registers.get((klass, course), ())
                out.append(_Enrollment(enrollment_id, student, course_id, joined, ended, register))
                yield (
                    f"{enrollment_id}\t{school}\t{course_id}\t{student}\t"
                    f"{'t' if ended is None else 'f'}\t{day_text[joined]}\t"
                    f"{NULL if ended is None else day_text[ended]}\tmanual\n"
                )


class _ProgressMaker:
    """One course_progress row per ACTIVE enrollment: the consistency check relies on it."""

    RECENT_DAYS = 21  # last activity within the past three weeks

    def __init__(self, run: _Run) -> None:
        self._run = run
        self._rng = run.rng("progress")
        # A pool of UTC stamps per "days ago" gives plenty of variety and saves
        # formatting a timestamp per row.
        now = datetime.now(UTC).replace(microsecond=0)
        randrange = self._rng.randrange
        self._stamps = [
            [_utc_text(now - timedelta(days=d, seconds=randrange(86400))) for _ in range(64)]
            for d in range(self.RECENT_DAYS)
        ]

    def lines(self, enrollments: Sequence[_Enrollment]) -> Iterator[str]:
        active = [e for e in enrollments if e.ended is None]
        ids = self._run.ids.take(len(active))
        school, stamps = self._run.school, self._stamps
        random_, randrange = self._rng.random, self._rng.randrange
        for progress_id, e in zip(ids, active, strict=True):
            # About as far along as the term, give or take.
            percent = min(100.0, max(0.0, 100 * PAST_SHARE + (random_() - 0.5) * 60))
            # Not active before joining (everyone joined yesterday or earlier).
            days_ago = randrange(min(self.RECENT_DAYS, -e.joined))
            yield (
                f"{progress_id}\t{school}\t{e.student}\t{e.course_id}\t{percent:.2f}\t"
                f"{stamps[days_ago][randrange(64)]}\n"
            )


def _utc_text(moment: datetime) -> str:
    # An explicit offset: the server's session time zone may not be the client's.
    return f"{moment:%Y-%m-%d %H:%M:%S}+00"


class _AttendanceMaker:
    """Register entries for the completed lessons of the student's class that the
    enrollment was current for (none where the class's lessons are not recorded)."""

    def __init__(self, run: _Run) -> None:
        self._run = run
        self._rng = run.rng("attendance")

    def lines(self, enrollments: Sequence[_Enrollment]) -> Iterator[str]:
        school, take = self._run.school, self._run.ids.take
        randrange = self._rng.randrange
        statuses = ATTENDANCE_STATUSES
        details = {"present": f"{NULL}\t{NULL}", "absent": f"{NULL}\t{NULL}"}
        for e in enrollments:
            current = [
                s for s in e.register if e.joined <= s.day and (e.ended is None or s.day < e.ended)
            ]
            for session, row_id in zip(current, take(len(current)), strict=True):
                status = statuses[randrange(100)]
                detail = details.get(status)
                if detail is None:
                    detail = (f"{NULL}\t{1 + randrange(20)}" if status == "late"
                              else f"{EXCUSES[randrange(len(EXCUSES))]}\t{NULL}")  # fmt: skip
                yield (
                    f"{row_id}\t{school}\t{session.id}\t{e.id}\t{status}\t{detail}\t"
                    f"{session.marked_at}\t{ACTOR}\n"
                )


# --- enrollment requests -------------------------------------------------------------

REQUEST_NOTES = ("Needs it for university applications", "Recommended by the class teacher",
                 "Changing from another course", "Parents asked", None, None, None)  # fmt: skip


def _insert_requests(run: _Run, courses: Sequence[_Course]) -> int:
    """About 2.5% of the active students asked for a course this month: most are still
    pending (for a course of their grade they do not take), some were rejected or
    withdrawn, and some approved - those for a course they are now enrolled in, so the
    demo school passes the consistency check. One set-based statement."""
    grades = [(c.id, c.spec.code, c.spec.grades[0], c.spec.grades[1]) for c in courses]
    notes = [n for n in REQUEST_NOTES]
    row = run.conn.execute(
        """
        WITH course_grades AS (
          SELECT * FROM unnest(%(ids)s::uuid[], %(codes)s::text[], %(low)s::int[], %(high)s::int[])
                   AS g(course_id, code, low, high)),
        asking AS (
          SELECT s.id, s.student_no, s.grade_level,
                 abs(hashtext(s.student_no || ':' || %(seed)s)) AS h
          FROM student s
          WHERE s.school_id = %(school)s AND s.status = 'active' AND s.deleted_at IS NULL
            AND abs(hashtext(s.student_no || ':' || %(seed)s)) %% 1000 < 25),
        wanted AS (
          SELECT a.id AS student_id, a.h,
                 CASE WHEN a.h %% 10 < 8 THEN
                   (SELECT g.course_id FROM course_grades g
                    WHERE a.grade_level BETWEEN g.low AND g.high
                      AND NOT EXISTS (SELECT 1 FROM course_enrollment e
                                      WHERE e.student_id = a.id AND e.course_id = g.course_id)
                    ORDER BY hashtext(g.code || a.student_no) LIMIT 1)
                 ELSE
                   (SELECT e.course_id FROM course_enrollment e
                    WHERE e.student_id = a.id AND e.active ORDER BY e.id LIMIT 1)
                 END AS course_id,
                 CASE WHEN a.h %% 10 < 6 THEN 'pending' WHEN a.h %% 10 = 6 THEN 'rejected'
                      WHEN a.h %% 10 = 7 THEN 'withdrawn' ELSE 'approved' END AS status,
                 now() - make_interval(mins => (a.h %% 43200)::int) AS requested_at
          FROM asking a)
        INSERT INTO enrollment_request (id, school_id, student_id, course_id, status,
                                        requested_at, decided_at, decided_by, note)
        SELECT gen_random_uuid(), %(school)s, student_id, course_id, status, requested_at,
               CASE WHEN status <> 'pending'
                    THEN least(now(), requested_at + make_interval(hours => 1 + (h %% 72)::int))
               END,
               CASE WHEN status IN ('approved', 'rejected') THEN 'registrar'
                    WHEN status = 'withdrawn' THEN 'office' END,
               (%(notes)s::text[])[1 + (h / 10) %% %(note_count)s]
        FROM wanted WHERE course_id IS NOT NULL
        """,
        {
            "ids": [g[0] for g in grades],
            "codes": [g[1] for g in grades],
            "low": [g[2] for g in grades],
            "high": [g[3] for g in grades],
            "seed": str(run.seed),
            "school": run.school_id,
            "notes": notes,
            "note_count": len(notes),
        },  # fmt: skip
    )
    return row.rowcount


# --- events --------------------------------------------------------------------------


@dataclass
class _EventCounts:
    events: int = 0
    teams: int = 0
    registrations: int = 0
    attendance: int = 0
    certificates: int = 0
    feedback: int = 0


@dataclass
class _Registration:
    id: uuid.UUID
    student: int  # index into _Students
    status: str
    registered_at: datetime
    team: int | None = None  # index into the event's teams
    days_attended: list[date] = field(default_factory=list)


@dataclass
class _Numbers:
    """One kind of number (registrations, certificates) as app.services.numbering hands
    them out: a sequence per year, "REG-2026-00007". ``year`` is the current event's."""

    kind: NumberKind
    year: int = 0
    next_values: dict[int, int] = field(default_factory=dict)

    def take(self) -> str:
        value = self.next_values[self.year]
        self.next_values[self.year] = value + 1
        return format_number(sequence_prefix(self.kind, self.year), value)


def _insert_events(run: _Run, book: _Students) -> _EventCounts:
    rng = run.rng("events")
    counts = _EventCounts()
    registration_no = _Numbers(NumberKind.REGISTRATION)
    certificate_no = _Numbers(NumberKind.CERTIFICATE)
    for n, spec in enumerate(EVENTS):
        _insert_event(run, rng, spec, book, counts, registration_no, certificate_no)
        run.progress.report((n + 1) / len(EVENTS), f"Creating events ({spec.name})")
    _save_numbers(run, registration_no)
    _save_numbers(run, certificate_no)
    return counts


def _use_year(run: _Run, numbers: _Numbers, year: int) -> None:
    """Go on from the school's own sequence for that year, if it has one."""
    numbers.year = year
    if year not in numbers.next_values:
        row = run.conn.execute(
            "SELECT next_value FROM number_sequence WHERE school_id = %s AND name = %s",
            (run.school_id, sequence_name(numbers.kind, year)),
        ).fetchone()
        numbers.next_values[year] = int(row[0]) if row else 1


def _save_numbers(run: _Run, numbers: _Numbers) -> None:
    for year, next_value in numbers.next_values.items():
        run.conn.execute(
            """
            INSERT INTO number_sequence (id, school_id, name, prefix, next_value)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT ON CONSTRAINT uq_number_sequence_name
            DO UPDATE SET next_value = greatest(number_sequence.next_value, EXCLUDED.next_value)
            """,
            (run.ids.take_uuid(), run.school_id, sequence_name(numbers.kind, year),
             sequence_prefix(numbers.kind, year), next_value),
        )  # fmt: skip


def _insert_event(
    run: _Run,
    rng: random.Random,
    spec: EventSpec,
    book: _Students,
    counts: _EventCounts,
    registration_no: _Numbers,
    certificate_no: _Numbers,
) -> None:
    starts = run.day(spec.starts_in_days)
    ends = starts + timedelta(days=spec.days - 1)
    finished = ends < run.today
    for numbers in (registration_no, certificate_no):  # numbered in the event's year
        _use_year(run, numbers, starts.year)
    opens = datetime.combine(starts - timedelta(days=45), clock(8, 0))
    closes = datetime.combine(starts - timedelta(days=3), clock(17, 0))
    registrations = _pick_registrations(run, rng, spec, book, opens, closes)
    teams = _form_teams(rng, spec, registrations)
    event_id = run.ids.take_uuid()
    run.conn.execute(
        """
        INSERT INTO event (id, school_id, name, venue, starts_on, ends_on,
            registration_opens_at, registration_closes_at, capacity, team_size_min,
            team_size_max, allow_individual, allow_teams, certificate_min_days, status)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            event_id,
            run.school_id,
            spec.name,
            spec.venue,
            starts,
            ends,
            opens,
            closes,
            spec.capacity,
            spec.team_size[0],
            spec.team_size[1],
            spec.allow_individual,
            spec.team_share > 0,
            spec.certificate_min_days,
            "completed" if finished else "open",
        ),
    )
    team_ids = _copy_teams(run, event_id, teams)
    _copy_registrations(run, event_id, book, registrations, team_ids, registration_no)
    counts.events += 1
    counts.teams += len(team_ids)
    counts.registrations += len(registrations)
    if not finished:
        return
    _attend(rng, spec, starts, registrations)
    counts.attendance += _copy_event_attendance(run, rng, registrations)
    counts.feedback += _copy_feedback(run, rng, registrations)
    counts.certificates += _copy_certificates(run, rng, spec, ends, registrations, certificate_no)


def _pick_registrations(
    run: _Run,
    rng: random.Random,
    spec: EventSpec,
    book: _Students,
    opens: datetime,
    closes: datetime,
) -> list[_Registration]:
    """Active students of the right grades, sampled without building a list of all of them.

    A big school fills the places early: registrations stop once the waiting list is
    WAITING_LIST_SHARE of the places, so an event's size never grows with the school.
    """
    low, high = spec.grades
    eligible_share = (high - low + 1) / 12
    keen = round(book.count * eligible_share * spec.share)
    wanted = min(keen, round(spec.capacity * (1 + WAITING_LIST_SHARE)))
    chosen: set[int] = set()
    # Rejection sampling: the eligible share is at least a third, so this ends quickly;
    # the attempt limit only guards a tiny school with too few eligible students.
    for _ in range(max(100, 20 * wanted)):
        if len(chosen) >= wanted:
            break
        k = rng.randrange(book.count)
        if book.active[k] and low <= book.grades[k] <= high:
            chosen.add(k)
    window = int((closes - opens).total_seconds())
    registrations = [
        _Registration(
            id=run.ids.take_uuid(),
            student=k,
            status="registered",
            registered_at=opens + timedelta(seconds=rng.randrange(window)),
        )
        for k in sorted(chosen)
    ]
    registrations.sort(key=lambda r: r.registered_at)
    # First come, first served; a cancellation frees its place for the next in line.
    places = spec.capacity
    for r in registrations:
        if rng.random() < 0.07:
            r.status = "cancelled"
        elif places:
            places -= 1
        else:
            r.status = "waitlisted"
    return registrations


def _form_teams(
    rng: random.Random, spec: EventSpec, registrations: list[_Registration]
) -> list[str]:
    """Put a share of the registered into teams of an allowed size; returns team names."""
    if spec.team_share <= 0:
        return []
    low, high = spec.team_size
    pool = [r for r in registrations if r.status == "registered" and rng.random() < spec.team_share]
    rng.shuffle(pool)
    names = _team_names(rng)
    teams: list[str] = []
    sizes: list[int] = []
    i = 0
    while len(pool) - i >= low:
        size = min(rng.randint(low, high), len(pool) - i)
        for member in pool[i : i + size]:
            member.team = len(teams)
        teams.append(next(names))
        sizes.append(size)
        i += size
    # Leftovers too few for a new team: join a team with room, else take part alone,
    # else (teams-only event) wait for a team to be found.
    for member in pool[i:]:
        room = next((t for t, size in enumerate(sizes) if size < high), None)
        if room is not None:
            member.team = room
            sizes[room] += 1
        elif not spec.allow_individual:
            member.status = "waitlisted"
    return teams


def _team_names(rng: random.Random) -> Iterator[str]:
    """Names unique (case-insensitively) within one event: combinations, then numbered."""
    combos = [f"{a} {n}" for a in TEAM_ADJECTIVES for n in TEAM_NOUNS]
    rng.shuffle(combos)
    yield from combos
    round_ = 2
    while True:
        for name in combos:
            yield f"{name} {round_}"
        round_ += 1


def _copy_teams(run: _Run, event_id: uuid.UUID, teams: Sequence[str]) -> list[uuid.UUID]:
    ids = [run.ids.take_uuid() for _ in teams]
    with run.conn.cursor().copy(TEAM_COPY) as copy:
        for team_id, name in zip(ids, teams, strict=True):
            copy.write_row((team_id, run.school_id, event_id, name))
    return ids


def _copy_registrations(
    run: _Run,
    event_id: uuid.UUID,
    book: _Students,
    registrations: Sequence[_Registration],
    team_ids: Sequence[uuid.UUID],
    numbers: _Numbers,
) -> None:
    with run.conn.cursor().copy(REGISTRATION_COPY) as copy:
        for r in registrations:
            team = team_ids[r.team] if r.team is not None else None
            copy.write_row(
                (
                    r.id,
                    run.school_id,
                    event_id,
                    book.id(r.student),
                    team,
                    numbers.take(),
                    r.status,
                    r.registered_at,
                )
            )


def _attend(
    rng: random.Random, spec: EventSpec, starts: date, registrations: Sequence[_Registration]
) -> None:
    """Who came on which day: most on the first day, a few drop off later."""
    for r in registrations:
        if r.status != "registered":
            continue
        present = rng.random() < 0.93
        for d in range(spec.days):
            if present:
                r.days_attended.append(starts + timedelta(days=d))
            # Who came tends to come back; who missed a day sometimes turns up later.
            present = rng.random() < (0.9 if present else 0.3)


def _copy_event_attendance(
    run: _Run, rng: random.Random, registrations: Sequence[_Registration]
) -> int:
    written = 0
    with run.conn.cursor().copy(EVENT_ATTENDANCE_COPY) as copy:
        for r in registrations:
            for day in r.days_attended:
                # Doors open at 8:00; check-ins spread over the first hour and a bit.
                checked_in = datetime.combine(day, clock(8, 0)) + timedelta(
                    minutes=rng.randrange(70)
                )
                copy.write_row((run.ids.take_uuid(), run.school_id, r.id, day, checked_in))
                written += 1
    return written


def _copy_feedback(run: _Run, rng: random.Random, registrations: Sequence[_Registration]) -> int:
    written = 0
    with run.conn.cursor().copy(FEEDBACK_COPY) as copy:
        for r in registrations:
            if not r.days_attended or rng.random() >= 0.55:
                continue
            comment = rng.choice(FEEDBACK_COMMENTS) if rng.random() < 0.4 else None
            copy.write_row(
                (run.ids.take_uuid(), run.school_id, r.id, rng.choice(FEEDBACK_RATINGS), comment)
            )
            written += 1
    return written


def _copy_certificates(
    run: _Run,
    rng: random.Random,
    spec: EventSpec,
    ends: date,
    registrations: Sequence[_Registration],
    numbers: _Numbers,
) -> int:
    """Participation for everyone who came often enough, merit for some, winner for a few."""
    earned = [
        r
        for r in registrations
        if r.status == "registered" and len(r.days_attended) >= spec.certificate_min_days
    ]
    if not earned:
        return 0
    winners = _winners(rng, spec, earned)
    issued_at = datetime.combine(ends + timedelta(days=3), clock(10, 0))
    rows: list[tuple[_Registration, str]] = []
    for r in earned:
        rows.append((r, "participation"))
        if rng.random() < spec.merit_share:
            rows.append((r, "merit"))
        if r.id in winners:
            rows.append((r, "winner"))
    with run.conn.cursor().copy(CERTIFICATE_COPY) as copy:

        def write(r: _Registration, kind: str, issued: datetime, revoked: datetime | None) -> None:
            reason = "Name misspelled; reissued" if revoked else None
            row = (run.ids.take_uuid(), run.school_id, r.id, kind, numbers.take(), issued)
            copy.write_row((*row, ACTOR, revoked, reason))

        # One reissue per event, as when a name was misspelled: a first print the day
        # before, revoked (with a reason); the live replacement comes with the batch.
        first, kind = rows[0]
        misprint = issued_at - timedelta(days=1)
        write(first, kind, misprint, misprint + timedelta(hours=2))
        for r, kind in rows:
            write(r, kind, issued_at, None)
    return len(rows) + 1


def _winners(
    rng: random.Random, spec: EventSpec, earned: Sequence[_Registration]
) -> set[uuid.UUID]:
    teams = sorted({r.team for r in earned if r.team is not None})
    if teams:
        won = set(rng.sample(teams, min(spec.winners, len(teams))))
        return {r.id for r in earned if r.team in won}
    return {r.id for r in rng.sample(list(earned), min(spec.winners, len(earned)))}


# --- finishing -----------------------------------------------------------------------

# Every table the load fills, in two rounds of ANALYZE: the school's body as soon as it
# is loaded (the requests query and the foreign-key checks join it), the rest at the end.
# fmt: off
ANALYZED_FIRST = (
    "student", "course", "course_enrollment", "course_progress", "class_session",
    "session_attendance",
)
ANALYZED_LAST = (
    "event", "event_team", "event_registration", "event_attendance", "event_feedback",
    "certificate", "number_sequence", "enrollment_request",
)
# fmt: on
ANALYZED_TABLES = ANALYZED_FIRST + ANALYZED_LAST


def _analyze(run: _Run, tables: Sequence[str]) -> None:
    """Statistics for the tables just loaded. Rows COPYed inside this transaction have
    none until autovacuum runs after the commit: the planner would take a million-row
    table for an empty one (the requests query once ran for over 25 minutes at a million
    students instead of seconds), and the first queries on the new school would plan
    just as blindly."""
    for n, table in enumerate(tables):
        run.progress.report(n / len(tables), f"Updating planner statistics ({table})")
        analyze_table(run.conn, table)
