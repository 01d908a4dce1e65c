"""Demo data: a believable school of any size, fast enough for a million students.

Used for demos, screenshots and benchmarks. Everything goes into one school that has
no students, courses or events yet, inside the caller's transaction (never committed
or rolled back here), so a cancelled run leaves nothing behind.

Speed comes from COPY for the rows built in Python (students, enrollments, sessions,
events) and set-based ``INSERT ... SELECT`` for rows derived from them (course progress,
session attendance). Nothing is inserted row by row.

The same seed gives the same students (names, numbers, e-mails, classes, birth dates
within the same school year, statuses), the same enrollments and the same events.
Primary keys are fresh random UUIDs on every run: demo rows must never collide with
rows of another database this one may sync with. Dates are relative to today, so the
data always has a past (attendance, finished events) and a future (scheduled sessions,
open registrations).
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import time
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock

import psycopg
from psycopg.types.json import Jsonb

from app.domain.errors import Conflict, ValidationError
from app.jobs import Job

log = logging.getLogger(__name__)

ACTOR = "demo"
EMAIL_DOMAIN = "students.example.edu"

# Rows per COPY write: big enough to keep the server busy, small enough that Cancel
# answers within a fraction of a second and memory stays flat.
STUDENT_BATCH = 20_000
# Whole-school totals above which rows are sampled instead of complete, so a
# million-student school is still created in a few minutes.
ATTENDANCE_ROW_CAP = 1_500_000
EVENT_REGISTRATION_CAP = 15_000

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
    share: float  # fraction of the eligible students who register
    team_size: tuple[int, int] = (1, 1)
    allow_individual: bool = True
    team_share: float = 0.0  # fraction of the registered who take part as a team
    certificate_min_days: int = 1
    merit_share: float = 0.08
    winners: int = 3  # winning teams or individuals


# fmt: off
EVENTS = (
    EventSpec(
        name="Mathematics Olympiad", venue="Room 204", starts_in_days=-95, days=1,
        grades=(6, 12), share=0.08, merit_share=0.15,
    ),
    EventSpec(
        name="Science Fair", venue="Main Hall", starts_in_days=-60, days=2,
        grades=(5, 12), share=0.15, team_size=(2, 3), team_share=0.4,
    ),
    EventSpec(
        name="Sports Day", venue="Athletics Field", starts_in_days=-30, days=1,
        grades=(1, 12), share=0.40, merit_share=0.05,
    ),
    EventSpec(
        name="Spring Hackathon", venue="Computer Lab & Library", starts_in_days=-12, days=2,
        grades=(9, 12), share=0.12, team_size=(2, 4), allow_individual=False,
        team_share=1.0, certificate_min_days=2,
    ),
    EventSpec(
        name="Art & Design Exhibition", venue="Gallery Café", starts_in_days=12, days=3,
        grades=(4, 12), share=0.10, certificate_min_days=2,
    ),
)

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
FEEDBACK_RATINGS = (5, 5, 5, 5, 4, 4, 4, 3, 3, 2, 1)

# Share of each course's sessions that lie in the past (and have attendance).
PAST_SHARE = 0.65

_HEX_VERSION_4 = bytes((b & 0x0F) | 0x40 for b in range(256))
_HEX_VARIANT_RFC = bytes((b & 0x3F) | 0x80 for b in range(256))
_ASCII_EXTRA = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ı": "i"})
_NOT_EMAIL = re.compile(r"[^a-z0-9-]+")

NULL = "\\N"  # COPY text format


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


# --- small helpers -----------------------------------------------------------------


def random_uuids(count: int) -> bytes:
    """``count`` random version-4 UUIDs as one 16-bytes-per-id blob.

    One os.urandom call and two translate() passes are far cheaper than a million
    uuid.uuid4() objects, and the blob is a sixth of the size of their strings.
    """
    blob = bytearray(os.urandom(16 * count))
    blob[6::16] = blob[6::16].translate(_HEX_VERSION_4)
    blob[8::16] = blob[8::16].translate(_HEX_VARIANT_RFC)
    return bytes(blob)


def uuid_hex(blob: bytes, index: int) -> str:
    # 32 hex digits without hyphens: PostgreSQL's uuid input accepts it.
    return blob[16 * index : 16 * index + 16].hex()


def uuid_at(blob: bytes, index: int) -> uuid.UUID:
    return uuid.UUID(bytes=blob[16 * index : 16 * index + 16])


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


def class_sections(students: int) -> str:
    # About 28 per class; at most 26 parallel classes (7A..7Z), then classes just grow.
    per_grade = max(1, math.ceil(students / 12 / 28))
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[: min(26, per_grade)]


def sessions_per_course(students: int) -> int:
    # Grows slowly with the school; attendance is sampled above ATTENDANCE_ROW_CAP anyway.
    if students <= 2_000:
        return 12
    if students <= 50_000:
        return 20
    return 26


class _Progress:
    """Turns stage-local counts into one done/total for the job, weighted by cost."""

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
        # Job takes integers: report in thousandths of the whole run.
        self._job.progress(round(1000 * done / self._total), 1000, text)

    def finish(self, text: str) -> None:
        self._end_stage()
        self._stage = ""
        if self._job is not None:
            self._job.progress(1000, 1000, text)


@dataclass
class _Run:
    """What every stage needs: the connection, the school, the clock and the RNGs."""

    conn: psycopg.Connection
    school_id: uuid.UUID
    seed: int
    progress: _Progress
    sessions_per_course: int
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


@dataclass
class _Students:
    """The students just created, kept compactly for the later stages."""

    ids: bytes  # 16 bytes per student
    grades: bytearray  # grade level per student
    active: bytearray  # 1 = status active

    @property
    def count(self) -> int:
        return len(self.grades)


@dataclass(frozen=True)
class _Course:
    id: uuid.UUID
    spec: CourseSpec


@dataclass(frozen=True)
class _Session:
    id: uuid.UUID
    course_index: int
    session_date: date
    end_time: clock
    completed: bool


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

    Runs inside the caller's transaction and never commits. Raises ``ValidationError``
    for a bad size, ``Conflict`` if the school already has students, courses or
    events, and ``Cancelled`` (from the job) between batches when cancelled.
    """
    if students < 1 or students > 10_000_000:
        raise ValidationError("students", "Demo data needs between 1 and 10,000,000 students.")
    started = time.perf_counter()
    run = _Run(
        conn,
        school_id,
        seed,
        _Progress(job, _stage_weights(students)),
        sessions_per_course(students),
    )
    _ensure_empty_school(run)

    run.progress.start("students")
    book = _insert_students(run, students)
    courses = _insert_courses(run)
    run.progress.start("enrollments")
    per_course, enrollments = _insert_enrollments(run, book, courses)
    run.progress.start("progress")
    _insert_course_progress(run, courses)
    run.progress.start("sessions")
    sessions = _insert_class_sessions(run, courses)
    attendance = _insert_session_attendance(run, courses, sessions, per_course)
    run.progress.start("events")
    events = _insert_events(run, book)
    run.progress.start("analyze")
    _analyze(run)

    seconds = time.perf_counter() - started
    run.progress.finish(f"Demo school ready: {students:,} students in {seconds:.0f} s")
    return DemoDataSummary(
        students=students,
        courses=len(courses),
        enrollments=enrollments,
        sessions=len(sessions),
        session_attendance=attendance,
        events=events.events,
        teams=events.teams,
        registrations=events.registrations,
        event_attendance=events.attendance,
        certificates=events.certificates,
        feedback=events.feedback,
        seconds=seconds,
    )


def _stage_weights(students: int) -> dict[str, float]:
    # Rough server seconds per million students, measured; only the shares matter.
    scale = students / 1_000_000
    return {
        "students": 70 * scale + 0.2,
        "enrollments": 45 * scale + 0.2,
        "progress": 30 * scale + 0.1,
        "sessions": 25 * scale + 0.2,
        "events": 6 * scale + 0.2,
        "analyze": 3 * scale + 0.1,
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


# --- students ----------------------------------------------------------------------


def _insert_students(run: _Run, count: int) -> _Students:
    book = _Students(ids=random_uuids(count), grades=bytearray(count), active=bytearray(count))
    rng = run.rng("students")
    lines = _student_lines(run, book, rng)
    columns = (
        "id, school_id, student_no, first_name, last_name, email, "
        "class_name, grade_level, birth_date, status"
    )
    with run.conn.cursor().copy(f"COPY student ({columns}) FROM STDIN") as copy:
        for done, chunk in lines:
            copy.write(chunk)
            run.progress.report(done / count, f"Creating students ({done:,} of {count:,})")
    return book


def _student_lines(run: _Run, book: _Students, rng: random.Random) -> Iterator[tuple[int, str]]:
    """COPY text for the students, STUDENT_BATCH rows at a time; fills book.grades/active."""
    count = book.count
    width = max(7, len(str(count)))
    sections = class_sections(count)
    firsts = [(name, ascii_fold(name)) for name in FIRST_NAMES]
    lasts = [(name, ascii_fold(name)) for name in LAST_NAMES]
    birth_days = _birth_days_by_grade(run.today)
    school = run.school
    random_ = rng.random
    randrange = rng.randrange
    for start in range(0, count, STUDENT_BATCH):
        stop = min(count, start + STUDENT_BATCH)
        parts: list[str] = []
        for k in range(start, stop):
            first, first_ascii = firsts[randrange(len(firsts))]
            last, last_ascii = lasts[randrange(len(lasts))]
            grade = 1 + randrange(12)
            number = k + 1
            roll = random_()
            # A few students left or paused; most are active.
            status = "active" if roll < 0.96 else "inactive" if roll < 0.985 else "withdrawn"
            email = (
                f"{first_ascii}.{last_ascii}{number}@{EMAIL_DOMAIN}" if random_() >= 0.03 else NULL
            )
            days = birth_days[grade]
            parts.append(
                f"{uuid_hex(book.ids, k)}\t{school}\tS{number:0{width}d}\t{first}\t{last}\t"
                f"{email}\t{grade}{sections[randrange(len(sections))]}\t{grade}\t"
                f"{days[randrange(len(days))]}\t{status}\n"
            )
            book.grades[k] = grade
            book.active[k] = status == "active"
        yield stop, "".join(parts)


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


# --- courses and enrollments -------------------------------------------------------


def _insert_courses(run: _Run) -> list[_Course]:
    courses = [_Course(uuid.uuid4(), spec) for spec in COURSES]
    term = term_label(run.today)
    with run.conn.cursor().copy(
        "COPY course (id, school_id, code, name, term, active) FROM STDIN"
    ) as copy:
        for course in courses:
            copy.write_row(
                (course.id, run.school_id, course.spec.code, course.spec.name, term, True)
            )
    return courses


def _courses_by_grade(courses: Sequence[_Course]) -> dict[int, list[int]]:
    by_grade = {
        grade: [i for i, c in enumerate(courses) if c.spec.grades[0] <= grade <= c.spec.grades[1]]
        for grade in range(1, 13)
    }
    # Every grade must offer at least as many courses as a student takes (4).
    assert all(len(options) >= 4 for options in by_grade.values()), by_grade
    return by_grade


def _term_start(run: _Run) -> date:
    """First day of the demo term: a week before the earliest session of any course."""
    past = math.ceil(run.sessions_per_course * PAST_SHARE)
    # Fortnightly series reach furthest back (see _course_sessions).
    return run.day(-(7 + 14 * (past - 1)) - 7)


def _insert_enrollments(
    run: _Run, book: _Students, courses: Sequence[_Course]
) -> tuple[list[int], int]:
    """2-4 grade-appropriate courses per student; returns enrollments per course and total."""
    per_course = [0] * len(courses)
    total_expected = 3 * book.count
    written = 0
    columns = "id, school_id, course_id, student_id, active, enrolled_on, ended_on, source"
    with run.conn.cursor().copy(f"COPY course_enrollment ({columns}) FROM STDIN") as copy:
        for done, rows, chunk in _enrollment_lines(run, book, courses, per_course):
            copy.write(chunk)
            written += rows
            run.progress.report(
                written / total_expected,
                f"Enrolling students in courses ({done:,} of {book.count:,} students)",
            )
    return per_course, written


def _enrollment_lines(
    run: _Run, book: _Students, courses: Sequence[_Course], per_course: list[int]
) -> Iterator[tuple[int, int, str]]:
    rng = run.rng("enrollments")
    by_grade = _courses_by_grade(courses)
    course_hex = [c.id.hex for c in courses]
    term_start = _term_start(run)
    elapsed = (run.today - term_start).days
    # Dates as strings once: at most `elapsed + 15` distinct days are ever used.
    day_text = {d: (term_start + timedelta(days=d)).isoformat() for d in range(-15, elapsed + 1)}
    school = run.school
    counts = (2, 3, 3, 4)
    random_ = rng.random
    randrange = rng.randrange
    for start in range(0, book.count, STUDENT_BATCH):
        stop = min(book.count, start + STUDENT_BATCH)
        ids = random_uuids(4 * (stop - start))
        used = 0
        parts: list[str] = []
        for k in range(start, stop):
            student = uuid_hex(book.ids, k)
            # Withdrawn/inactive students keep their history, but it has ended.
            gone = not book.active[k]
            for course in rng.sample(by_grade[book.grades[k]], counts[randrange(4)]):
                # Most enrolled in the fortnight before term, a few joined later.
                joined = -randrange(15) if random_() < 0.95 else randrange(max(1, elapsed - 14))
                ended = NULL
                if gone or random_() < 0.05:
                    ended = day_text[joined + randrange(max(1, elapsed - joined))]
                parts.append(
                    f"{uuid_hex(ids, used)}\t{school}\t{course_hex[course]}\t{student}\t"
                    f"{'f' if ended != NULL else 't'}\t{day_text[joined]}\t{ended}\tmanual\n"
                )
                per_course[course] += 1
                used += 1
        yield stop, used, "".join(parts)


def _insert_course_progress(run: _Run, courses: Sequence[_Course]) -> None:
    """One progress row per active enrollment (the consistency check relies on it)."""
    share_done = PAST_SHARE
    for i, course in enumerate(courses):
        run.conn.execute(
            """
            INSERT INTO course_progress
                (id, school_id, student_id, course_id, percent, last_activity_at)
            SELECT gen_random_uuid(), school_id, student_id, course_id,
                   round(least(100, greatest(0, %(expected)s + (random() - 0.5) * 60))::numeric, 2),
                   now() - random() * interval '21 days'
            FROM course_enrollment
            WHERE course_id = %(course)s AND active AND deleted_at IS NULL
            """,
            {"course": course.id, "expected": 100 * share_done},
        )
        run.progress.report((i + 1) / len(courses), "Recording course progress")


# --- class sessions and attendance ---------------------------------------------------


def _insert_class_sessions(run: _Run, courses: Sequence[_Course]) -> list[_Session]:
    """A weekly (some fortnightly) series per course, two thirds of it in the past."""
    rng = run.rng("sessions")
    sessions: list[_Session] = []
    columns = (
        "id, school_id, course_id, session_date, start_time, end_time, session_mode, "
        "location, topics, topics_covered, teacher_attendance_status, priority_level, "
        "is_recurring, session_frequency, recurring_pattern, series_id, "
        "notification_enabled, alarm_enabled, alarm_before_minutes, is_featured, status"
    )
    with run.conn.cursor().copy(f"COPY class_session ({columns}) FROM STDIN") as copy:
        for index, course in enumerate(courses):
            for row, session in _course_sessions(run, rng, index, course):
                copy.write_row(row)
                sessions.append(session)
    return sessions


def _course_sessions(
    run: _Run, rng: random.Random, index: int, course: _Course
) -> Iterator[tuple[tuple[object, ...], _Session]]:
    spec = course.spec
    count = run.sessions_per_course
    weekday = index % 5
    fortnightly = rng.random() < 0.2
    step = 14 if fortnightly else 7
    past = math.ceil(count * PAST_SHARE)
    # The series' weekday on or before today, then `past` steps back.
    last_past = run.today - timedelta(days=(run.today.weekday() - weekday) % 7 or 7)
    first = last_past - timedelta(days=step * (past - 1))
    start = PERIOD_STARTS[rng.randrange(len(PERIOD_STARTS))]
    minutes = 90 if spec.lab else rng.choice((45, 50))
    end = (datetime.combine(first, start) + timedelta(minutes=minutes)).time()
    series = uuid.uuid4()
    mode = rng.choices(("in-person", "hybrid", "online"), (85, 10, 5))[0]
    location = (
        "Online (video call)" if mode == "online" else rng.choice(LAB_ROOMS if spec.lab else ROOMS)
    )
    pattern = {"days": [WEEKDAYS[weekday]], "months": [], "specific_dates": []}
    alarm = rng.random() < 0.25
    for n in range(count):
        day = first + timedelta(days=step * n)
        is_past = day < run.today
        cancelled = is_past and rng.random() < 0.04
        topics = rng.sample(spec.topics, min(len(spec.topics), rng.randint(1, 2)))
        status = "cancelled" if cancelled else "completed" if is_past else "scheduled"
        teacher = None
        if is_past:
            teacher = "absent" if cancelled else rng.choices(("present", "late"), (95, 5))[0]
        session = _Session(uuid.uuid4(), index, day, end, status == "completed")
        row = (
            session.id,
            run.school_id,
            course.id,
            day,
            start,
            end,
            mode,
            location,
            Jsonb(topics),
            Jsonb(topics if status == "completed" else []),
            teacher,
            rng.choices(("low", "medium", "high", "urgent"), (15, 65, 17, 3))[0],
            True,
            "bi-weekly" if fortnightly else "weekly",
            Jsonb(pattern),
            series,
            rng.random() < 0.9,
            alarm,
            rng.choice((5, 10, 15, 30)) if alarm else 15,
            rng.random() < 0.05,
            status,
        )
        yield row, session


def _insert_session_attendance(
    run: _Run,
    courses: Sequence[_Course],
    sessions: Sequence[_Session],
    enrollments_per_course: Sequence[int],
) -> int:
    """Attendance for completed sessions: complete for a normal school, sampled for a huge one.

    Each enrollment falls in one of `buckets` random buckets and each completed session of
    its course takes the students of one bucket, so every session still gets a register
    and no (session, enrollment) pair appears twice.
    """
    completed: list[list[_Session]] = [[] for _ in courses]
    for session in sessions:
        if session.completed:
            completed[session.course_index].append(session)
    full = sum(len(s) * n for s, n in zip(completed, enrollments_per_course, strict=True))
    buckets = max(1, math.ceil(full / ATTENDANCE_ROW_CAP))
    written = 0
    for i, course in enumerate(courses):
        course_sessions = completed[i]
        if not course_sessions:
            continue
        cur = run.conn.execute(
            """
            INSERT INTO session_attendance
                (id, school_id, session_id, enrollment_id, status, marked_at, marked_by)
            SELECT gen_random_uuid(), %(school)s, s.id, e.id,
                   (%(statuses)s::text[])[1 + floor(random() * 100)::int],
                   s.session_date + s.end_time - interval '3 minutes', %(actor)s
            FROM unnest(%(ids)s::uuid[], %(dates)s::date[], %(buckets)s::int[], %(ends)s::time[])
                 AS s(id, session_date, bucket, end_time)
            JOIN (
                -- random() in the select list keeps this a separate step: one bucket
                -- per enrollment, however often the join probes it.
                SELECT id, enrolled_on, ended_on, floor(random() * %(nbuckets)s)::int AS bucket
                FROM course_enrollment
                WHERE course_id = %(course)s AND deleted_at IS NULL
            ) e ON e.bucket = s.bucket
            WHERE s.session_date >= e.enrolled_on
              AND (e.ended_on IS NULL OR s.session_date < e.ended_on)
            """,
            {
                "school": run.school_id,
                "statuses": ATTENDANCE_STATUSES,
                "actor": ACTOR,
                "ids": [s.id for s in course_sessions],
                "dates": [s.session_date for s in course_sessions],
                "buckets": [n % buckets for n in range(len(course_sessions))],
                "ends": [s.end_time for s in course_sessions],
                "nbuckets": buckets,
                "course": course.id,
            },
        )
        written += max(0, cur.rowcount)
        run.progress.report((i + 1) / len(courses), "Taking attendance at past sessions")
    return written


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
    """A number_sequence row: prefix and the next value to hand out."""

    name: str
    prefix: str
    next_value: int

    def take(self) -> str:
        value = self.next_value
        self.next_value += 1
        return f"{self.prefix}{value:06d}"


def _insert_events(run: _Run, book: _Students) -> _EventCounts:
    rng = run.rng("events")
    counts = _EventCounts()
    registration_no = _load_numbers(run, "registration", "R-")
    certificate_no = _load_numbers(run, "certificate", "C-")
    for n, spec in enumerate(EVENTS):
        _insert_event(run, rng, spec, book, counts, registration_no, certificate_no)
        run.progress.report((n + 1) / len(EVENTS), f"Creating events ({spec.name})")
    _save_numbers(run, registration_no)
    _save_numbers(run, certificate_no)
    return counts


def _load_numbers(run: _Run, name: str, default_prefix: str) -> _Numbers:
    row = run.conn.execute(
        "SELECT prefix, next_value FROM number_sequence WHERE school_id = %s AND name = %s",
        (run.school_id, name),
    ).fetchone()
    if row is None:
        return _Numbers(name, default_prefix, 1)
    return _Numbers(name, row[0], int(row[1]))


def _save_numbers(run: _Run, numbers: _Numbers) -> None:
    run.conn.execute(
        """
        INSERT INTO number_sequence (id, school_id, name, prefix, next_value)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT ON CONSTRAINT uq_number_sequence_name
        DO UPDATE SET next_value = greatest(number_sequence.next_value, EXCLUDED.next_value)
        """,
        (uuid.uuid4(), run.school_id, numbers.name, numbers.prefix, numbers.next_value),
    )


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
    opens = datetime.combine(starts - timedelta(days=45), clock(8, 0))
    closes = datetime.combine(starts - timedelta(days=3), clock(17, 0))
    registrations = _pick_registrations(run, rng, spec, book, opens, closes)
    capacity = max(1, sum(r.status == "registered" for r in registrations))
    teams = _form_teams(rng, spec, registrations)
    event_id = uuid.uuid4()
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
            capacity,
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
    """Active students of the right grades, sampled without building a list of all of them."""
    low, high = spec.grades
    eligible_share = (high - low + 1) / 12
    wanted = min(EVENT_REGISTRATION_CAP, round(book.count * eligible_share * spec.share))
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
            id=uuid.uuid4(),
            student=k,
            status=rng.choices(("registered", "waitlisted", "cancelled"), (89, 4, 7))[0],
            registered_at=opens + timedelta(seconds=rng.randrange(window)),
        )
        for k in sorted(chosen)
    ]
    registrations.sort(key=lambda r: r.registered_at)
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
    ids = [uuid.uuid4() for _ in teams]
    with run.conn.cursor().copy(
        "COPY event_team (id, school_id, event_id, name) FROM STDIN"
    ) as copy:
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
    columns = "id, school_id, event_id, student_id, team_id, registration_no, status, created_at"
    with run.conn.cursor().copy(f"COPY event_registration ({columns}) FROM STDIN") as copy:
        for r in registrations:
            team = team_ids[r.team] if r.team is not None else None
            copy.write_row(
                (
                    r.id,
                    run.school_id,
                    event_id,
                    uuid_at(book.ids, r.student),
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
    with run.conn.cursor().copy(
        "COPY event_attendance (id, school_id, registration_id, attended_on, checked_in_at) "
        "FROM STDIN"
    ) as copy:
        for r in registrations:
            for day in r.days_attended:
                # Doors open at 8:00; check-ins spread over the first hour and a bit.
                checked_in = datetime.combine(day, clock(8, 0)) + timedelta(
                    minutes=rng.randrange(70)
                )
                copy.write_row((uuid.uuid4(), run.school_id, r.id, day, checked_in))
                written += 1
    return written


def _copy_feedback(run: _Run, rng: random.Random, registrations: Sequence[_Registration]) -> int:
    written = 0
    with run.conn.cursor().copy(
        "COPY event_feedback (id, school_id, registration_id, rating, comments) FROM STDIN"
    ) as copy:
        for r in registrations:
            if not r.days_attended or rng.random() >= 0.55:
                continue
            comment = rng.choice(FEEDBACK_COMMENTS) if rng.random() < 0.4 else None
            copy.write_row(
                (uuid.uuid4(), run.school_id, r.id, rng.choice(FEEDBACK_RATINGS), comment)
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
    columns = (
        "id, school_id, registration_id, kind, certificate_no, issued_at, issued_by, "
        "revoked_at, revoke_reason"
    )
    with run.conn.cursor().copy(f"COPY certificate ({columns}) FROM STDIN") as copy:
        # One reissue per event, as when a name was misspelled: the first certificate
        # is revoked (with a reason) and a live replacement follows with a new number.
        first, kind = rows[0]
        copy.write_row(
            (
                uuid.uuid4(),
                run.school_id,
                first.id,
                kind,
                numbers.take(),
                issued_at,
                ACTOR,
                issued_at + timedelta(hours=2),
                "Name misspelled; reissued",
            )
        )
        for r, kind in rows:
            copy.write_row(
                (
                    uuid.uuid4(),
                    run.school_id,
                    r.id,
                    kind,
                    numbers.take(),
                    issued_at + timedelta(days=1),
                    ACTOR,
                    None,
                    None,
                )
            )
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

# fmt: off
ANALYZED_TABLES = (
    "student", "course", "course_enrollment", "course_progress", "class_session",
    "session_attendance", "event", "event_team", "event_registration", "event_attendance",
    "event_feedback", "certificate", "number_sequence",
)
# fmt: on


def _analyze(run: _Run) -> None:
    # Fresh statistics so the first queries on a big demo school get sensible plans
    # (autovacuum would only catch up after the commit, minutes later).
    for n, table in enumerate(ANALYZED_TABLES):
        run.conn.execute(f"ANALYZE {table}")
        run.progress.report((n + 1) / len(ANALYZED_TABLES), "Updating planner statistics")
