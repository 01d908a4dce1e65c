"""Printing certificates from the window: Save PDF… on the certificates dialog (the
highlighted ones, or every valid one), and the Certificates section of Settings (the
school's template and logo, with a preview)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from event_setup import build_events
from mnemonics import window_clashes
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QMessageBox

from app.services.certificate_print import certificate_design
from app.services.certificates import issue_certificates, revoke_certificate
from ui.dialogs import certificates_dialog, settings_dialog
from ui.dialogs.certificates_dialog import CertificatesDialog
from ui.dialogs.settings_dialog import SettingsDialog

WAIT = 10_000
LOGO_RED = QColor("#7a1f2b")


def _pdf(path: Path) -> tuple[int, str]:
    """Pages, and the text of every page."""
    document = pdfium.PdfDocument(str(path))
    try:
        return len(document), "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def _open_issued(qtbot, event_id) -> CertificatesDialog:
    dialog = CertificatesDialog(event_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: dialog.details is not None, timeout=WAIT)
    dialog.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: dialog.issued_table.rowCount() == 4, timeout=WAIT)
    return dialog


def _save(qtbot, dialog: CertificatesDialog, monkeypatch, path: Path) -> QMessageBox:
    asked: list[str] = []

    def ask(parent, title, suggested):
        asked.append(suggested)
        return path

    monkeypatch.setattr(certificates_dialog, "ask_pdf_path", ask)
    dialog.saved_pdf = None
    qtbot.mouseClick(dialog.pdf_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.saved_pdf == path, timeout=WAIT)
    assert asked == ["science-fair-certificates.pdf"]
    box = dialog.saved_box
    assert box is not None and box.isVisible()
    return box


def test_save_pdf_prints_the_highlighted_or_every_valid_certificate(
    qtbot, ops_hub, db, ctx, monkeypatch, tmp_path
):
    with db.sessions.begin() as s:
        ids = build_events(s, ctx)
        issue_certificates(s, ctx, ids["fair"])
        issue_certificates(s, ctx, ids["fair"], "merit", ["REG-2026-00006"])
        revoke_certificate(s, ctx, "CERT-2026-00001", "Printed with a typo")
    dialog = _open_issued(qtbot, ids["fair"])
    assert window_clashes(dialog) == {}
    assert dialog.pdf_button.isEnabled()  # nothing highlighted: every valid one

    every = tmp_path / "fair.pdf"
    box = _save(qtbot, dialog, monkeypatch, every)
    assert box.text() == f"Saved 3 certificates to fair.pdf\nin {tmp_path}."
    assert [b.text() for b in box.buttons()].count("&Open") == 1
    dialog.grab().save("/tmp/cert_dialog.png")
    box.close()
    pages, words = _pdf(every)
    assert pages == 3
    for number in ("CERT-2025-00012", "CERT-2026-00002", "CERT-2026-00003"):
        assert number in words
    assert "CERT-2026-00001" not in words  # revoked
    assert "Certificate of Merit" in words and "Finn Marsh" in words
    assert dialog.issued_note.text() == f"Saved 3 certificates to {every}."

    # Highlighted ones only; a revoked one among them is left out.
    table = dialog.issued_table
    numbers = [table.item(row, 0).text() for row in range(table.rowCount())]
    assert numbers == ["CERT-2025-00012", "CERT-2026-00001", "CERT-2026-00002",
                       "CERT-2026-00003"]  # fmt: skip
    table.selectRow(1)  # the revoked one alone: nothing to print
    assert not dialog.pdf_button.isEnabled() and not dialog.revoke_button.isEnabled()
    table.setSelectionMode(table.SelectionMode.MultiSelection)
    table.selectRow(3)
    table.setSelectionMode(table.SelectionMode.ExtendedSelection)
    assert dialog.to_print() == ["CERT-2026-00003"]
    assert not dialog.revoke_button.isEnabled()  # Revoke takes one certificate at a time
    chosen = tmp_path / "chosen.pdf"
    _save(qtbot, dialog, monkeypatch, chosen).close()
    assert _pdf(chosen)[0] == 1 and "CERT-2026-00003" in _pdf(chosen)[1]


def test_a_pdf_that_cannot_be_saved_says_why(qtbot, ops_hub, db, ctx, monkeypatch, tmp_path):
    with db.sessions.begin() as s:
        ids = build_events(s, ctx)
        issue_certificates(s, ctx, ids["fair"])
        issue_certificates(s, ctx, ids["fair"], "merit", ["REG-2026-00006"])
    dialog = _open_issued(qtbot, ids["fair"])
    gone = tmp_path / "gone" / "fair.pdf"
    monkeypatch.setattr(certificates_dialog, "ask_pdf_path", lambda *args: gone)
    qtbot.mouseClick(dialog.pdf_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "could not be saved" in dialog.message.text(), timeout=WAIT)
    assert dialog.message.text().startswith(f"fair.pdf could not be saved in {gone.parent}")
    assert dialog.pdf_button.isEnabled() and dialog.saved_pdf is None


def _settings(qtbot) -> SettingsDialog:
    dialog = SettingsDialog(None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: dialog.design is not None, timeout=WAIT)
    return dialog


def _logo_red(image: QImage) -> int:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    pixels = np.frombuffer(image.constBits(), np.uint8, image.bytesPerLine() * height)
    pixels = pixels.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3)
    wanted = np.array([LOGO_RED.red(), LOGO_RED.green(), LOGO_RED.blue()])
    return int((np.abs(pixels.astype(int) - wanted).max(axis=2) < 30).sum())


def test_settings_choose_a_logo_and_a_template_with_a_preview(
    qtbot, ops_hub, db, ctx, monkeypatch, tmp_path
):
    from test_certificate_pdf import logo_png

    dialog = _settings(qtbot)
    assert dialog.design_summary.text() == "Rollbook's design, with no logo."
    assert dialog.preview_image is not None and _logo_red(dialog.preview_image) == 0
    assert not dialog.default_button.isEnabled() and not dialog.remove_logo_button.isEnabled()
    assert window_clashes(dialog) == {}

    logo = tmp_path / "hill.png"
    logo.write_bytes(logo_png())
    monkeypatch.setattr(settings_dialog, "ask_open_path", lambda *args: logo)
    qtbot.mouseClick(dialog.logo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.design.logo is not None, timeout=WAIT)
    assert dialog.design_summary.text().startswith("Rollbook's design, with the school's PNG "
                                                   "logo (")  # fmt: skip
    assert _logo_red(dialog.preview_image) > 500  # the logo shows on the sample
    assert dialog.remove_logo_button.isEnabled()
    dialog.grab().save("/tmp/cert_settings.png")
    with db.sessions() as s:
        assert certificate_design(s, ctx).logo == logo.read_bytes()  # kept for everyone

    # A template without the student's name is refused in words; nothing changes.
    bad = tmp_path / "mine.svg"
    bad.write_text('<svg xmlns="http://www.w3.org/2000/svg"><text>{certificate_no}</text></svg>')
    monkeypatch.setattr(settings_dialog, "ask_open_path", lambda *args: bad)
    qtbot.mouseClick(dialog.template_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "has no {student_name}" in dialog.design_message.text(), timeout=WAIT)
    assert dialog.design.is_default and dialog.template_button.isEnabled()

    mine = tmp_path / "plain.svg"
    mine.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'viewBox="0 0 297 210"><rect width="297" height="210" fill="#e0f0ff"/>'
        '<text x="20" y="100" font-size="20" font-family="sans-serif">{student_name}</text>'
        '<text x="20" y="140" font-size="8">{certificate_no}</text></svg>'
    )
    monkeypatch.setattr(settings_dialog, "ask_open_path", lambda *args: mine)
    qtbot.mouseClick(dialog.template_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.design.is_default, timeout=WAIT)
    assert dialog.design_message.text() == ""
    assert dialog.design.logo is not None  # the logo stays
    assert _logo_red(dialog.preview_image) == 0  # this template has no place for one
    background = dialog.preview_image.pixelColor(5, 5)
    assert background == QColor("#e0f0ff")

    qtbot.mouseClick(dialog.default_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.design.is_default, timeout=WAIT)
    qtbot.mouseClick(dialog.remove_logo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.design.logo is None, timeout=WAIT)
    with db.sessions() as s:
        stored = certificate_design(s, ctx)
    assert stored.is_default and stored.logo is None
