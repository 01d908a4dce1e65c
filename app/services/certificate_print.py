"""Printable certificates: which ones to print and what goes on them, and the school's
certificate design (its SVG template and logo). Free of Qt: ``ui.printing`` draws the
pages.

A template is an SVG drawing (A4 landscape, measured in millimetres) with placeholders
such as ``{student_name}`` in its text; ``fill_template`` puts one certificate's values
in, XML-escaped, so a name like ``Ö'Brien & Co`` or ``<script>`` is printed as typed and
never read as markup. The logo is an ``<image>`` whose link is ``{logo_href}``; without a
logo that image is left out. The school's own template and logo are kept in the
database (``school.certificate_template``, ``certificate_logo``), so every desktop and
the command line print the same certificates; without them Rollbook's design
(``resources/certificates/certificate.svg``) is used.

Templates and logos are read as data only: parsed as XML with entities and network
access off, never run.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

from lxml import etree
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import CertificateKind
from app.domain.errors import NotFound, ValidationError
from app.domain.wording import plural
from app.paths import resource
from app.services.numbering import PREFIXES, NumberKind
from app.services.permissions import Permission, needs
from app.services.typed_numbers import typed_number

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# Rollbook's own attributes in a template (rollbook:fit-width); SVG editors keep them.
ROLLBOOK_NS = "urn:rollbook:certificate"
SHOWN_IF = f"{{{ROLLBOOK_NS}}}if"  # rollbook:if="logo" / "no-logo"
LOGO = "{logo_href}"
REQUIRED = ("{student_name}", "{certificate_no}")
_REQUIRED_WORDS = {"{student_name}": "student's name", "{certificate_no}": "certificate number"}
MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
LOGO_TYPES = ("png", "jpeg", "svg")
LOGO_MIME = {"png": "image/png", "jpeg": "image/jpeg", "svg": "image/svg+xml"}

KIND_TITLES = {
    CertificateKind.PARTICIPATION.value: "Certificate of Participation",
    CertificateKind.MERIT.value: "Certificate of Merit",
    CertificateKind.WINNER.value: "Winner's Certificate",
}
KIND_PHRASES = {
    CertificateKind.PARTICIPATION.value: "for taking part in",
    CertificateKind.MERIT.value: "for outstanding achievement in",
    CertificateKind.WINNER.value: "as a winner of",
}
# The certificate's words are English, so are its months (whatever the computer's locale).
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
REG = PREFIXES[NumberKind.REGISTRATION]
CERT = PREFIXES[NumberKind.CERTIFICATE]


# ---------------------------------------------------------------- what is printed


@dataclass(frozen=True)
class CertificateDesign:
    """How a school's certificates look: its own template or Rollbook's, and its logo."""

    school_name: str
    school_template: str | None = None  # the school's SVG; None: Rollbook's design
    logo: bytes | None = field(default=None, repr=False)
    logo_type: str | None = None  # png, jpeg, svg

    @property
    def template_svg(self) -> str:
        """The template certificates are printed with."""
        return self.school_template or default_template()

    @property
    def is_default(self) -> bool:
        return self.school_template is None


@dataclass(frozen=True)
class PrintableCertificate:
    certificate_no: str
    registration_no: str
    student_no: str
    student_name: str
    event_name: str
    event_dates: str  # "10–11 October 2026"
    kind: str
    issued_on: date

    @property
    def kind_title(self) -> str:
        return KIND_TITLES.get(self.kind, "Certificate")


@dataclass(frozen=True)
class PrintBatch:
    """The certificates to print, one page each, in number order, and the design."""

    event_id: uuid.UUID
    event_name: str
    design: CertificateDesign
    certificates: tuple[PrintableCertificate, ...]

    @property
    def school_name(self) -> str:
        return self.design.school_name


# A made-up certificate, for the preview of a design in Settings.
SAMPLE_CERTIFICATE = PrintableCertificate(
    certificate_no="CERT-2026-00012", registration_no="REG-2026-00042", student_no="S1042",
    student_name="Zoë Ö'Brien-Müller", event_name="Science Fair",
    event_dates="10–11 October 2026", kind=CertificateKind.PARTICIPATION.value,
    issued_on=date(2026, 10, 12),
)  # fmt: skip


def date_text(day: date) -> str:
    """ "3 March 2026"."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def dates_text(first: date, last: date) -> str:
    """An event's days as a certificate says them: "10 October 2026", "10–11 October
    2026", "30 September – 2 October 2026", "30 December 2026 – 2 January 2027"."""
    if first == last:
        return date_text(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{date_text(last)}"
    if first.year == last.year:
        return f"{first.day} {MONTHS[first.month - 1]} – {date_text(last)}"
    return f"{date_text(first)} – {date_text(last)}"


def verification_text(certificate: PrintableCertificate, school_name: str) -> str:
    return (f"Certificate {certificate.certificate_no} issued {date_text(certificate.issued_on)} "
            f"by {school_name}. To verify, ask the school office to look up this number in "
            "Rollbook.")  # fmt: skip


def placeholder_values(certificate: PrintableCertificate, school_name: str) -> dict[str, str]:
    """What each placeholder of a template stands for on this certificate (as plain
    text; ``fill_template`` escapes it)."""
    return {
        "school_name": school_name,
        "student_name": certificate.student_name,
        "event_name": certificate.event_name,
        "kind_title": certificate.kind_title,
        "kind_phrase": KIND_PHRASES.get(certificate.kind, "for"),
        "event_dates": certificate.event_dates,
        "issued_on": date_text(certificate.issued_on),
        "certificate_no": certificate.certificate_no,
        "registration_no": certificate.registration_no,
        "verification": verification_text(certificate, school_name),
    }


# ---------------------------------------------------------------- templates

# Characters XML does not allow at all (a name pasted from elsewhere may carry one).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_COMMENT = re.compile(r"(<!--.*?-->)", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def xml_text(value: str) -> str:
    """``value`` as XML character data, fit for text and attribute values alike."""
    value = _NOT_XML.sub("", value)
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))  # fmt: skip


def fill_template(template_svg: str, values: Mapping[str, str], logo_href: str = "") -> str:
    """The template with every known placeholder replaced by its value, escaped, in one
    pass (a value that looks like a placeholder stays as it is); comments are left as
    they are (a value with "--" would end one). ``{logo_href}`` becomes ``logo_href``."""
    known = {**values, "logo_href": logo_href}

    def replace(found: re.Match[str]) -> str:
        name = found.group(1)
        return xml_text(known[name]) if name in known else found.group(0)

    parts = _COMMENT.split(template_svg)
    return "".join(part if part.startswith("<!--") else _PLACEHOLDER.sub(replace, part)
                   for part in parts)  # fmt: skip


def certificate_svg(design: CertificateDesign, certificate: PrintableCertificate) -> str:
    """One certificate as an SVG drawing: the design's template for a school with or
    without a logo, the certificate's values and the logo filled in."""
    logo = ""
    if design.logo is not None and design.logo_type is not None:
        logo = logo_data_uri(design.logo, design.logo_type)
    template = shown_for_logo(design.template_svg, has_logo=bool(logo))
    return fill_template(template, placeholder_values(certificate, design.school_name), logo)


def _parser() -> etree.XMLParser:
    # Data only: no entities expanded, no DTD or file fetched, no network.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_blank_text=False)  # fmt: skip


def parse_svg(data: bytes | str) -> etree._Element:
    """The SVG's root element. Raises ValueError with the reason when it is not a
    well-formed SVG drawing."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if b"<!ENTITY" in raw:
        raise ValueError("it declares XML entities, which Rollbook does not read")
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"it is not well-formed XML ({exc.msg}, line {exc.lineno})") from None
    if etree.QName(root).localname != "svg":
        raise ValueError(f"it is a <{etree.QName(root).localname}> document, not an SVG drawing")
    return root


def _href(element: etree._Element) -> str | None:
    return element.get(f"{{{XLINK_NS}}}href") or element.get("href")


def logo_images(root: etree._Element) -> list[etree._Element]:
    """The template's ``<image>`` elements that show the logo."""
    return [e for e in root.iter(f"{{{SVG_NS}}}image", "image") if LOGO in (_href(e) or "")]


def drop_hidden(root: etree._Element, *, has_logo: bool) -> None:
    """Take out of the drawing what a school with (or without) a logo does not show:
    without one the logo's images and what is marked ``rollbook:if="logo"``, with one
    what is marked ``rollbook:if="no-logo"``."""
    hidden = "no-logo" if has_logo else "logo"
    doomed = [e for e in root.iter() if isinstance(e.tag, str) and e.get(SHOWN_IF) == hidden]
    if not has_logo:
        doomed += logo_images(root)
    for element in doomed:
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)


def shown_for_logo(template_svg: str, *, has_logo: bool) -> str:
    """The template as a school with (or without) a logo prints it (``drop_hidden``)."""
    if LOGO not in template_svg and ROLLBOOK_NS not in template_svg:
        return template_svg  # nothing to take out: no need to read it
    root = parse_svg(template_svg)
    drop_hidden(root, has_logo=has_logo)
    return serialize_svg(root)


def serialize_svg(root: etree._Element) -> str:
    return etree.tostring(root, encoding="unicode")


@cache
def default_template() -> str:
    """Rollbook's own certificate design."""
    return resource("certificates", "certificate.svg").read_text(encoding="utf-8")


def logo_data_uri(logo: bytes, logo_type: str) -> str:
    """The logo as a ``data:`` link, for a template's ``{logo_href}``."""
    return f"data:{LOGO_MIME[logo_type]};base64,{base64.b64encode(logo).decode('ascii')}"


# ---------------------------------------------------------------- which certificates

# The event, its school's design and the certificates asked for, in one statement.
# Without names: every valid certificate of the event. With registration or certificate
# numbers: those, revoked ones and registrations without a certificate too, so the
# refusal can say why each one is not printed. The design (a logo is up to 2 MB) comes
# with the first row only.
_PRINT_SQL = text("""
SELECT ev.name AS event_name, ev.starts_on, ev.ends_on, sc.name AS school_name,
       CASE WHEN row_number() OVER w = 1 THEN sc.certificate_template END AS template,
       CASE WHEN row_number() OVER w = 1 THEN sc.certificate_logo END AS logo,
       sc.certificate_logo_type AS logo_type,
       x.registration_no, x.student_no, x.student_name, x.certificate_no, x.kind,
       x.issued_at, x.revoked_at, x.revoke_reason
FROM event ev
JOIN school sc ON sc.id = ev.school_id
LEFT JOIN LATERAL (
    SELECT r.registration_no, s.student_no,
           btrim(s.first_name || ' ' || s.last_name) AS student_name,
           c.certificate_no, c.kind, c.issued_at, c.revoked_at, c.revoke_reason
    FROM event_registration r
    JOIN student s ON s.id = r.student_id
    LEFT JOIN certificate c ON c.registration_id = r.id AND c.deleted_at IS NULL
    WHERE r.event_id = ev.id
      AND (CAST(:registrations AS text[]) IS NULL
           OR r.registration_no = ANY(CAST(:registrations AS text[])))
      AND (CAST(:certificates AS text[]) IS NULL
           OR c.certificate_no = ANY(CAST(:certificates AS text[])))
      AND (CAST(:registrations AS text[]) IS NOT NULL
           OR CAST(:certificates AS text[]) IS NOT NULL
           OR (c.id IS NOT NULL AND c.revoked_at IS NULL))
) x ON true
WHERE ev.id = :event AND ev.school_id = :school AND ev.deleted_at IS NULL
WINDOW w AS (ORDER BY length(x.certificate_no), x.certificate_no)
ORDER BY length(x.certificate_no), x.certificate_no
""")


def _typed(numbers: Sequence[str] | None, prefix: str, what: str) -> list[str] | None:
    if numbers is None:
        return None
    typed = list(dict.fromkeys(typed_number(no, prefix) for no in numbers if no.strip()))
    if not typed:
        raise ValidationError(what, f"Name at least one {what} number, or none to print them "
                              "all.")  # fmt: skip
    return typed


def _refusals(rows: Iterable, chosen: list[str], key: str, event_name: str) -> list[str]:
    """Why each chosen number has no valid certificate among ``rows`` ("" when it has)."""
    found: dict[str, list] = {}
    for row in rows:
        if row.registration_no is not None:
            found.setdefault(getattr(row, key), []).append(row)
    why: list[str] = []
    for number in chosen:
        held = found.get(number, [])
        if any(r.certificate_no is not None and r.revoked_at is None for r in held):
            continue
        revoked = [r for r in held if r.certificate_no is not None]
        if revoked:
            reasons = ", ".join(f"{r.certificate_no} was revoked"
                                + (f" ({r.revoke_reason})" if r.revoke_reason else "")
                                for r in revoked)  # fmt: skip
            why.append(reasons if key == "certificate_no" else f"{number}: {reasons}")
        elif held:
            why.append(f"{number} has no certificate issued")
        else:
            what = "a certificate" if key == "certificate_no" else "a registration"
            why.append(f"{number} is not {what} of {event_name}")
    return why


@needs(Permission.VIEW)
def certificates_to_print(
    session: Session, ctx: ServiceContext, event_id: uuid.UUID,
    registration_nos: Sequence[str] | None = None, *,
    certificate_nos: Sequence[str] | None = None,
) -> PrintBatch:  # fmt: skip
    """The event's valid (not revoked) certificates to print, in number order, with the
    school's design: all of them, or those of the named registrations (every valid
    certificate a registration holds), or the named certificates. A named number with no
    valid certificate is refused, with why (revoked, none issued, not this event's), and
    nothing is printed. One statement."""
    registrations = _typed(registration_nos, REG, "registration")
    certificates = _typed(certificate_nos, CERT, "certificate")
    rows = session.execute(
        _PRINT_SQL, {"event": event_id, "school": ctx.school_id,
                     "registrations": registrations, "certificates": certificates},
    ).all()  # fmt: skip
    if not rows:
        raise NotFound("That event no longer exists; refresh and try again.")
    first = rows[0]
    refused: list[str] = []
    if registrations is not None:
        refused += _refusals(rows, registrations, "registration_no", first.event_name)
    if certificates is not None:
        refused += _refusals(rows, certificates, "certificate_no", first.event_name)
    if refused:
        raise ValidationError(
            "registration" if registrations is not None else "certificate",
            f"Not printed: {'; '.join(refused)}. Leave {plural(len(refused), 'it', 'them')} "
            "out, or check the numbers; nothing was saved.",
        )  # fmt: skip
    dates = dates_text(first.starts_on, first.ends_on)
    printable = tuple(
        PrintableCertificate(r.certificate_no, r.registration_no, r.student_no, r.student_name,
                             first.event_name, dates, r.kind, _local_day(r.issued_at))
        for r in rows if r.certificate_no is not None and r.revoked_at is None
    )  # fmt: skip
    if not printable:
        raise ValidationError(
            "event", f"{first.event_name} has no valid certificates to print; issue them "
            "first (Events > Certificates…, or rollbook certificates issue)."
        )  # fmt: skip
    design = CertificateDesign(first.school_name, first.template, first.logo,
                               first.logo_type if first.logo is not None else None)  # fmt: skip
    return PrintBatch(event_id, first.event_name, design, printable)


def _local_day(moment: datetime) -> date:
    """The day a certificate was issued, on this computer's calendar."""
    return moment.astimezone().date()


# ---------------------------------------------------------------- the school's design

_DESIGN_SQL = text("""
SELECT name, certificate_template, certificate_logo, certificate_logo_type
FROM school WHERE id = :school
""")
_SET_DESIGN_SQL = text("""
UPDATE school SET certificate_template = :template, certificate_logo = :logo,
                  certificate_logo_type = :logo_type
WHERE id = :school
RETURNING name
""")


@needs(Permission.VIEW)
def certificate_design(session: Session, ctx: ServiceContext) -> CertificateDesign:
    """The school's certificate design: its own template and logo, where it has them."""
    row = session.execute(_DESIGN_SQL, {"school": ctx.school_id}).first()
    if row is None:
        raise NotFound("The school is not in the database; restart Rollbook.")
    name, template, logo, logo_type = row
    return CertificateDesign(name, template, logo, logo_type if logo is not None else None)


def size_text(count: int) -> str:
    """ "2.0 MB", "45 KB"."""
    return f"{count / 1024 / 1024:.1f} MB" if count >= 1024 * 1024 else f"{count / 1024:.0f} KB"


def check_template(template_svg: str) -> str:
    """The template, checked: a well-formed SVG drawing holding at least
    ``{student_name}`` and ``{certificate_no}``."""
    size = len(template_svg.encode("utf-8"))
    if size > MAX_TEMPLATE_BYTES:
        raise ValidationError(
            "template", f"The template is {size_text(size)}; Rollbook takes templates up "
            f"to {size_text(MAX_TEMPLATE_BYTES)}. Make the pictures in it smaller, or leave "
            "the logo out of the drawing (Rollbook adds it)."
        )  # fmt: skip
    try:
        root = parse_svg(template_svg)
    except ValueError as exc:
        raise ValidationError(
            "template", f"The template cannot be used: {exc}. Save it from Inkscape as "
            "Plain SVG and choose it again."
        ) from None  # fmt: skip
    # Only the drawing counts: a placeholder named in a comment prints nothing.
    for comment in root.xpath("//comment()"):
        if comment.getparent() is not None:
            comment.getparent().remove(comment)
    drawing = serialize_svg(root)
    missing = [p for p in REQUIRED if p not in drawing]
    if missing:
        raise ValidationError(
            "template", f"The template has no {' or '.join(missing)}: type "
            f"{plural(len(missing), 'it', 'them')} into the drawing where the "
            f"{' and the '.join(_REQUIRED_WORDS[p] for p in missing)} "
            "should be printed, and choose it again."
        )  # fmt: skip
    return template_svg


def logo_type_of(logo: bytes) -> str | None:
    """png, jpeg or svg, by what the file starts with (never by its name); None for
    anything else."""
    if logo.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if logo.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    head = logo[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<?xml", b"<svg", b"<!--", b"<!DOCTYPE")) and b"<svg" in head:
        return "svg"
    return None


def check_logo(logo: bytes, logo_type: str | None = None) -> str:
    """The logo's type (png, jpeg, svg), checked by its content; at most 2 MB."""
    if not logo:
        raise ValidationError("logo", "The logo file is empty; choose the school's logo as a "
                              "PNG, JPEG or SVG picture.")  # fmt: skip
    if len(logo) > MAX_LOGO_BYTES:
        raise ValidationError(
            "logo", f"The logo is {size_text(len(logo))}; Rollbook takes logos up to "
            f"{size_text(MAX_LOGO_BYTES)}. Save a smaller copy (1,000 pixels across is plenty "
            "for print) and choose that."
        )  # fmt: skip
    found = logo_type_of(logo)
    if found is None:
        raise ValidationError("logo", "That file is not a PNG, JPEG or SVG picture; save the "
                              "logo in one of those formats and choose it again.")  # fmt: skip
    if found == "svg":
        try:
            parse_svg(logo)
        except ValueError as exc:
            raise ValidationError(
                "logo", f"The SVG logo cannot be used: {exc}. Save it as Plain SVG, or as "
                "PNG, and choose it again."
            ) from None  # fmt: skip
    if logo_type is not None and logo_type.lower().replace("jpg", "jpeg") != found:
        raise ValidationError("logo", f"The logo is a {found.upper()} picture, not "
                              f"{logo_type.upper()}; choose it again.")  # fmt: skip
    return found


@needs(Permission.SCHOOL_SETTINGS)
def set_certificate_design(
    session: Session, ctx: ServiceContext, template_svg: str | None, logo: bytes | None,
    logo_type: str | None = None,
) -> CertificateDesign:  # fmt: skip
    """Set the school's certificate template and logo (admin). ``template_svg`` None
    prints Rollbook's design again; ``logo`` None prints no logo. ``logo_type`` may be
    left out: the logo's content says what it is."""
    template = check_template(template_svg) if template_svg is not None else None
    kind = check_logo(logo, logo_type) if logo is not None else None
    name = session.execute(
        _SET_DESIGN_SQL,
        {"school": ctx.school_id, "template": template, "logo": logo, "logo_type": kind},
    ).scalar()  # fmt: skip
    if name is None:
        raise NotFound("The school is not in the database; restart Rollbook.")
    return CertificateDesign(name, template, logo, kind)
