"""Certificate PDFs: which certificates are printed (valid ones; a named registration
without one is refused, saying why), the school's design and how it is checked, values
printed literally (never read as markup), and ``rollbook certificates pdf`` making a PDF
a person can print: one page per certificate, the number on the page, not blank."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from event_setup import build_events
from PySide6.QtCore import QBuffer, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from app.cli import main as plain_command_line
from app.domain.enums import UserRole
from app.domain.errors import Cancelled, NotFound, PermissionDenied, ValidationError
from app.jobs import Job
from app.services.certificate_print import (
    SAMPLE_CERTIFICATE,
    CertificateDesign,
    certificate_design,
    certificate_svg,
    certificates_to_print,
    dates_text,
    default_template,
    fill_template,
    parse_svg,
    set_certificate_design,
)
from app.services.certificates import issue_certificates, revoke_certificate
from ui.launch import main as rollbook

LOGO_RED = QColor("#7a1f2b")


@pytest.fixture
def fair(db):
    """The Science Fair with three valid certificates (Eve's CERT-2025-00012 from the
    set-up, Ada's CERT-2026-00001, Finn's CERT-2026-00002) and Ada's merit one revoked."""
    with db.sessions.begin() as s:
        ids = build_events(s, db.context())
        issue_certificates(s, db.context(), ids["fair"])
        issue_certificates(s, db.context(), ids["fair"], "merit", ["REG-2026-00001"])
        revoke_certificate(s, db.context(), "CERT-2026-00003", "Printed with a typo")
    return ids


def logo_png() -> bytes:
    """A school's logo: a maroon disc with an H, and the word HILL beside it."""
    image = QImage(600, 300, QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0, 0))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(LOGO_RED)
    painter.drawEllipse(10, 10, 280, 280)
    font = QFont("serif")
    font.setBold(True)
    font.setPixelSize(150)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(QRectF(10, 10, 280, 280), Qt.AlignmentFlag.AlignCenter, "H")
    font.setPixelSize(90)
    painter.setFont(font)
    painter.setPen(LOGO_RED)
    painter.drawText(QRectF(300, 0, 300, 300), Qt.AlignmentFlag.AlignCenter, "HILL")
    painter.end()
    buffer = QBuffer()
    buffer.open(QBuffer.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


def first_page(path: Path, png: str | None = None) -> tuple[np.ndarray, str]:
    """The PDF's first page as RGB pixels (saved as ``png`` too) and its text."""
    document = pdfium.PdfDocument(str(path))
    try:
        page = document[0]
        pixels = page.render(scale=1, rev_byteorder=True).to_numpy()[:, :, :3].copy()
        words = page.get_textpage().get_text_range()
    finally:
        document.close()
    if png:
        height, width, _ = pixels.shape
        QImage(pixels.tobytes(), width, height, width * 3,
               QImage.Format.Format_RGB888).save(png)  # fmt: skip
    return pixels, words


def page_count(path: Path) -> int:
    document = pdfium.PdfDocument(str(path))
    try:
        return len(document)
    finally:
        document.close()


def ink(pixels: np.ndarray) -> float:
    """The share of the page printed dark (text, borders), not paper or a pale tint."""
    return float((pixels.max(axis=2) < 140).mean())


def near(pixels: np.ndarray, colour: QColor, within: int = 30) -> int:
    wanted = np.array([colour.red(), colour.green(), colour.blue()])
    return int((np.abs(pixels.astype(int) - wanted).max(axis=2) < within).sum())


# ---------------------------------------------------------------- which certificates


def test_an_events_valid_certificates_are_printed_in_number_order(db, fair):
    with db.sessions() as s:
        batch = certificates_to_print(s, db.context(), fair["fair"])
    assert [(c.certificate_no, c.student_name, c.kind) for c in batch.certificates] == [
        ("CERT-2025-00012", "Eve Marsh", "participation"),
        ("CERT-2026-00001", "Ada Marsh", "participation"),
        ("CERT-2026-00002", "Finn Marsh", "participation"),
    ]  # the revoked merit certificate CERT-2026-00003 is not printed
    eve = batch.certificates[0]
    assert (batch.school_name, batch.event_name, eve.event_dates) == (
        "Test School", "Science Fair", "10–11 October 2026")  # fmt: skip
    assert (eve.registration_no, eve.student_no, eve.kind_title) == (
        "REG-2026-00005", "S5", "Certificate of Participation")  # fmt: skip
    assert batch.design.is_default and batch.design.logo is None


def test_named_registrations_print_their_valid_certificates_or_are_refused(db, fair):
    with db.sessions() as s:
        ada = certificates_to_print(s, db.context(), fair["fair"], ["reg-2026-00001"])
        with pytest.raises(ValidationError) as refused:
            certificates_to_print(s, db.context(), fair["fair"],
                                  ["REG-2026-00001", "REG-2026-00002", "REG-2026-00007",
                                   "REG-2099-1"])  # fmt: skip
    # Ada holds a valid participation certificate besides the revoked merit one.
    assert [c.certificate_no for c in ada.certificates] == ["CERT-2026-00001"]
    assert str(refused.value) == (
        "Not printed: REG-2026-00002 has no certificate issued; REG-2026-00007 is not a "
        "registration of Science Fair; REG-2099-1 is not a registration of Science Fair. "
        "Leave them out, or check the numbers; nothing was saved."
    )
    with db.sessions.begin() as s:
        revoke_certificate(s, db.context(), "CERT-2026-00002", "Left before the end")
    with db.sessions() as s, pytest.raises(ValidationError) as refused:
        certificates_to_print(s, db.context(), fair["fair"], ["REG-2026-00006"])
    assert str(refused.value) == (
        "Not printed: REG-2026-00006: CERT-2026-00002 was revoked (Left before the end). "
        "Leave it out, or check the numbers; nothing was saved."
    )


def test_named_certificates_and_events_without_any(db, fair):
    named, revoked = ["cert-2026-00002", "CERT-2025-00012"], ["CERT-2026-00003"]
    with db.sessions() as s:
        chosen = certificates_to_print(s, db.context(), fair["fair"], certificate_nos=named)
        assert [c.certificate_no for c in chosen.certificates] == [
            "CERT-2025-00012", "CERT-2026-00002"]  # fmt: skip
        with pytest.raises(ValidationError, match=r"^Not printed: CERT-2026-00003 was revoked "
                           r"\(Printed with a typo\)\. Leave it out"):  # fmt: skip
            certificates_to_print(s, db.context(), fair["fair"], certificate_nos=revoked)
        with pytest.raises(ValidationError) as none:
            certificates_to_print(s, db.context(), fair["quiz"])
        assert str(none.value).startswith("Quiz Night has no valid certificates to print; "
                                          "issue them first")  # fmt: skip
        with pytest.raises(NotFound, match="That event no longer exists"):
            certificates_to_print(s, db.context(), fair["S1"])


def test_the_batch_is_read_with_one_statement(db, fair):
    statements: list[str] = []
    with db.sessions() as s:
        connection = s.connection()
        event.listen(connection, "before_cursor_execute",
                     lambda *args: statements.append(args[2]))  # fmt: skip
        batch = certificates_to_print(s, db.context(), fair["fair"])
    assert len(batch.certificates) == 3
    assert len(statements) == 1


def test_event_dates_read_as_on_a_certificate():
    from datetime import date

    assert dates_text(date(2026, 3, 3), date(2026, 3, 3)) == "3 March 2026"
    assert dates_text(date(2026, 9, 30), date(2026, 10, 2)) == "30 September – 2 October 2026"
    assert dates_text(date(2026, 12, 30), date(2027, 1, 2)) == (
        "30 December 2026 – 2 January 2027")  # fmt: skip


# ---------------------------------------------------------------- values and the design


SCHOOL = "Ö'Brien & Co " + '"School"'


def test_values_are_printed_literally_never_read_as_markup():
    certificate = dataclasses.replace(SAMPLE_CERTIFICATE, student_name="<script>alert(1)</script>",
                                      event_name="{certificate_no} -- Quiz")  # fmt: skip
    design = CertificateDesign(SCHOOL)
    root = parse_svg(certificate_svg(design, certificate))
    texts = {e.get("id"): "".join(e.itertext()) for e in root.iter("{*}text") if e.get("id")}
    assert texts["student"] == "<script>alert(1)</script>"
    assert texts["school"] == SCHOOL
    assert texts["event"] == "{certificate_no} -- Quiz"  # not filled in a second time
    assert texts["number"] == "No. CERT-2026-00012"
    assert not list(root.iter("{*}script", "script"))
    assert f"{SCHOOL}. To verify, ask the school office" in texts["verification"]
    # Placeholders in comments stay as they are ("--" in a value would end a comment).
    assert fill_template("<!-- {student_name} --><svg/>", {"student_name": "a--b"}) == (
        "<!-- {student_name} --><svg/>")  # fmt: skip


def test_without_a_logo_its_image_is_left_out_and_the_crest_shown(qapp):
    plain = parse_svg(certificate_svg(CertificateDesign("Hill School"), SAMPLE_CERTIFICATE))
    assert not list(plain.iter("{*}image")) and plain.find(".//*[@id='crest']") is not None
    design = CertificateDesign("Hill School", None, logo_png(), "png")
    with_logo = parse_svg(certificate_svg(design, SAMPLE_CERTIFICATE))
    [image] = with_logo.iter("{*}image")
    assert image.get("{http://www.w3.org/1999/xlink}href").startswith("data:image/png;base64,iVBOR")
    assert with_logo.find(".//*[@id='crest']") is None


BARE = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 297 210">'
        '<text x="10" y="20">{student_name}</text>{rest}</svg>')  # fmt: skip


def test_the_design_is_kept_for_the_school_and_checked(qapp, session, ctx):
    assert certificate_design(session, ctx) == CertificateDesign("Test School")
    template = BARE.replace("{rest}", '<text x="10" y="40">{certificate_no}</text>')
    saved = set_certificate_design(session, ctx, template, logo_png(), None)
    assert (saved.school_template, saved.logo_type) == (template, "png")
    assert certificate_design(session, ctx) == saved
    restored = set_certificate_design(session, ctx, None, None, None)
    assert restored.is_default and restored.template_svg == default_template()
    assert certificate_design(session, ctx).logo is None

    def refused(template: str | None = None, logo: bytes | None = None) -> str:
        with pytest.raises(ValidationError) as info:
            set_certificate_design(session, ctx, template, logo, None)
        return str(info.value)

    assert refused(BARE.replace("{rest}", "")) == (
        "The template has no {certificate_no}: type it into the drawing where the "
        "certificate number should be printed, and choose it again.")  # fmt: skip
    # A placeholder named in a comment only prints nothing.
    assert "has no {certificate_no}" in refused(BARE.replace("{rest}", "<!-- {certificate_no} -->"))
    assert refused("<svg><text>{student_name}").startswith(
        "The template cannot be used: it is not well-formed XML (")  # fmt: skip
    assert refused("<html>{student_name} {certificate_no}</html>") == (
        "The template cannot be used: it is a <html> document, not an SVG drawing. Save it "
        "from Inkscape as Plain SVG and choose it again.")  # fmt: skip
    laughs = ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
              + BARE.replace("{rest}", "&a;{certificate_no}"))  # fmt: skip
    assert "it declares XML entities, which Rollbook does not read" in refused(laughs)
    assert refused(logo=b"GIF89a" + bytes(100)) == (
        "That file is not a PNG, JPEG or SVG picture; save the logo in one of those formats "
        "and choose it again.")  # fmt: skip
    too_big = b"\x89PNG\r\n\x1a\n" + bytes(2 * 1024 * 1024)
    assert refused(logo=too_big).startswith("The logo is 2.0 MB; Rollbook takes logos up to "
                                            "2.0 MB. Save a smaller copy")  # fmt: skip
    assert refused(logo=b"").startswith("The logo file is empty")
    svg_logo = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4"/></svg>'
    assert set_certificate_design(session, ctx, None, svg_logo, None).logo_type == "svg"
    jpeg = b"\xff\xd8\xff\xe0" + bytes(64)
    assert set_certificate_design(session, ctx, None, jpeg, "jpg").logo_type == "jpeg"
    with pytest.raises(ValidationError, match="The logo is a JPEG picture, not PNG"):
        set_certificate_design(session, ctx, None, jpeg, "png")
    assert certificate_design(session, ctx).logo_type == "jpeg"  # refusals changed nothing


def test_only_an_admin_changes_the_design_and_the_database_keeps_it_typed(db, session):
    with pytest.raises(PermissionDenied, match="may not change the school's settings"):
        set_certificate_design(session, db.context(UserRole.REGISTRAR), None, None, None)
    with pytest.raises(IntegrityError, match="ck_school_certificate_logo_typed"):
        session.execute(text("UPDATE school SET certificate_logo = '\\x00', "
                             "certificate_logo_type = 'gif'"))  # fmt: skip


# ---------------------------------------------------------------- the PDF


def _pdf(db, capsys, *args: str) -> tuple[int, str, str]:
    code = rollbook(["--database-url", db.url, "--school", "TEST", "certificates", "pdf", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_saves_one_page_per_certificate(qapp, db, fair, capsys, tmp_path):
    out = tmp_path / "fair.pdf"
    code, said, err = _pdf(db, capsys, "science fair", "--out", str(out))
    assert (code, said, err) == (0, f"Saved 3 certificates to {out}\n", "")
    assert page_count(out) == 3
    pixels, words = first_page(out, "/tmp/cert_default.png")
    assert "CERT-2025-00012" in words and "Eve Marsh" in words
    assert "Certificate of Participation" in words and "Science Fair" in words
    assert ink(pixels) > 0.02  # borders and words, not an empty page
    assert pixels.shape[1] > pixels.shape[0]  # landscape
    document = pdfium.PdfDocument(str(out))
    assert document.get_metadata_dict()["Title"] == "Certificates — Science Fair"
    document.close()

    code, said, _ = _pdf(db, capsys, "Science Fair", "--registration", "REG-2026-00006",
                         "--out", str(out), "--json")  # fmt: skip
    assert code == 0 and '"certificates": [\n    "CERT-2026-00002"\n  ]' in said
    assert page_count(out) == 1
    assert "Finn Marsh" in first_page(out)[1]


def test_bad_input_is_one_line_exit_2_and_leaves_no_file(qapp, db, fair, capsys, tmp_path):
    out = tmp_path / "fair.pdf"
    cases = {
        ("Science Fair", "--registration", "REG-2026-00002"):
            "rollbook: Not printed: REG-2026-00002 has no certificate issued. Leave it out, or "
            "check the numbers; nothing was saved.",
        ("Art Show",): "rollbook: There is no event named 'Art Show'.",
        ("Quiz Night",): "rollbook: Quiz Night has no valid certificates to print;",
    }  # fmt: skip
    for args, said in cases.items():
        code, _, err = _pdf(db, capsys, *args, "--out", str(out))
        assert code == 2 and err.startswith(said) and err.count("\n") == 1, err
    code, _, err = _pdf(db, capsys, "Science Fair", "--out", str(tmp_path / "fair.docx"))
    assert (code, err) == (2, f"rollbook: --out {tmp_path / 'fair.docx'}: the file name must "
                              "end in .pdf.\n")  # fmt: skip
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    code, _, err = _pdf(db, capsys, "Science Fair", "--out", str(blocker / "fair.pdf"))
    assert code == 2 and "there is no folder" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]
    # The headless command line (app.cli alone) never loads Qt: it says who makes PDFs.
    code = plain_command_line(["--database-url", db.url, "--school", "TEST", "certificates",
                               "pdf", "Science Fair", "--out", str(out)])  # fmt: skip
    said = "rollbook: certificate PDFs are made by the rollbook program (it needs Qt)\n"
    assert (code, capsys.readouterr().err) == (2, said)


def test_the_schools_logo_is_printed_and_stored_once(qapp, db, fair, capsys, tmp_path):
    with db.sessions.begin() as s:
        set_certificate_design(s, db.context(), None, logo_png(), None)
    out = tmp_path / "fair.pdf"
    code, _, err = _pdf(db, capsys, "Science Fair", "--out", str(out))
    assert code == 0, err
    pixels, words = first_page(out, "/tmp/cert_logo.png")
    assert "CERT-2025-00012" in words
    assert near(pixels, LOGO_RED) > 2000  # the maroon disc, at the top of the page
    assert near(pixels[: pixels.shape[0] // 4], LOGO_RED) == near(pixels, LOGO_RED)
    # One logo in the file for three pages (Qt keeps its alpha as a second image).
    assert out.read_bytes().count(b"/Subtype /Image") <= 2


def test_cancel_between_pages_saves_nothing(qapp, db, fair, tmp_path):
    from ui.printing import write_certificates_pdf

    with db.sessions() as s:
        batch = certificates_to_print(s, db.context(), fair["fair"])
    out = tmp_path / "fair.pdf"
    out.write_bytes(b"an older file")
    job = Job(lambda report: job.cancel() if report.done >= 1 else None, min_interval_s=0)
    with pytest.raises(Cancelled):
        write_certificates_pdf(batch, out, job)
    assert [p.name for p in tmp_path.iterdir()] == ["fair.pdf"]
    assert out.read_bytes() == b"an older file"  # left as it was


def test_long_names_are_made_smaller_to_stay_inside_the_border(qapp):
    from ui.printing import _Page

    long = dataclasses.replace(
        SAMPLE_CERTIFICATE, student_name="Maria José Fernández de la Cruz-Vasconcelos y "
        "Albuquerque", event_name="Regional Science and Engineering Fair — Final Round of "
        "the Northern District")  # fmt: skip
    page = _Page(CertificateDesign("Hill School"))
    for certificate in (SAMPLE_CERTIFICATE, long):
        renderer = page.renderer(certificate)
        for element, allowed in (("student", 220), ("event", 230)):
            local = renderer.transformForElement(element).mapRect(
                renderer.boundsOnElement(element))  # fmt: skip
            assert local.width() <= allowed + 0.5, (element, local)
            assert 148.5 - allowed / 2 - 0.5 <= local.left()  # still centred on the page


def test_a_schools_own_upright_template_with_its_logo(qapp, db, fair, capsys, tmp_path):
    """A design drawn upright prints on upright pages; the logo lands where the
    template's image is, inside a moved group as an SVG editor writes it."""
    template = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="210mm" height="297mm" viewBox="0 0 210 297">'
        '<g transform="translate(20 30)"><image x="0" y="0" width="60" height="30" '
        'xlink:href="{logo_href}"/></g>'
        '<text x="105" y="150" font-size="12" text-anchor="middle">{student_name}</text>'
        '<text x="105" y="200" font-size="6" text-anchor="middle">{certificate_no}</text></svg>'
    )
    with db.sessions.begin() as s:
        set_certificate_design(s, db.context(), template, logo_png(), None)
    out = tmp_path / "fair.pdf"
    assert _pdf(db, capsys, "Science Fair", "--out", str(out))[0] == 0
    pixels, words = first_page(out, "/tmp/cert_upright.png")
    assert pixels.shape[0] > pixels.shape[1]  # portrait
    assert "Eve Marsh" in words and "CERT-2025-00012" in words
    per_mm = pixels.shape[1] / 210
    top, left = int(30 * per_mm), int(20 * per_mm)
    logo_box = pixels[top : top + int(30 * per_mm), left : left + int(60 * per_mm)]
    assert near(logo_box, LOGO_RED) == near(pixels, LOGO_RED) > 500
