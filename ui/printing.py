"""Certificate PDFs, drawn with Qt: one A4 page per certificate (landscape, unless the
school's template is drawn upright).

Each page is the school's template (app.services.certificate_print) with the
certificate's values filled in, drawn by QSvgRenderer onto a QPdfWriter at 300 dpi; the
text stays text in the PDF (it can be searched and copied). The logo is not left to the
template's ``<image>``: its place is measured on the page and the one logo is drawn
there, so the PDF holds it once however many pages it has, and an SVG logo stays sharp.
A text marked ``rollbook:fit-width`` is made smaller when it would be wider than that
(a long name stays inside the border).

``write_certificates_pdf`` saves through app.savefile: complete or not at all, with
progress and Cancel between pages. It needs a QGuiApplication (the window has one; the
command line makes one, see ui.launch) and runs on any thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from PySide6.QtCore import QByteArray, QLoggingCategory, QMarginsF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QMessageBox, QWidget

from app.domain.errors import ValidationError
from app.domain.wording import counted
from app.jobs import Job
from app.savefile import FileNotSaved, saving, why_not_saved
from app.services.certificate_print import (
    ROLLBOOK_NS,
    CertificateDesign,
    PrintableCertificate,
    PrintBatch,
    drop_hidden,
    fill_template,
    logo_images,
    parse_svg,
    placeholder_values,
    serialize_svg,
)
from app.version import app_version
from ui.actions.save_file import PDF, ask_save_path

RESOLUTION_DPI = 300
FIT_WIDTH = f"{{{ROLLBOOK_NS}}}fit-width"
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")

# Qt SVG says so on stderr for every part of a drawing it does not draw (an editor's own
# elements, filters): noise on the command line, and nothing a person can act on.
QLoggingCategory.setFilterRules("qt.svg.warning=false")


@dataclass(frozen=True)
class _Fit:
    element_id: str
    width: float  # in the drawing's units


class _Page:
    """A design prepared once for many pages: the template with the logo's places and
    the texts to fit marked by id, and the logo ready to draw."""

    def __init__(self, design: CertificateDesign) -> None:
        self.school_name = design.school_name
        try:
            root = parse_svg(design.template_svg)
        except ValueError as exc:
            raise ValidationError(
                "template", f"The school's certificate template cannot be used: {exc}. Choose "
                "another in Settings > Certificates."
            ) from None  # fmt: skip
        self.logo_ids = self._logo_places(root, has_logo=design.logo is not None)
        self.fits = self._fits(root)
        self.template = serialize_svg(root)
        # A school may draw its certificate upright: the page follows the drawing.
        view = QSvgRenderer(QByteArray(self.template.encode("utf-8"))).viewBoxF()
        self.aspect = view.height() / view.width() if view.width() > 0 else 210 / 297
        self.logo_image: QImage | None = None
        self.logo_svg: QSvgRenderer | None = None
        if design.logo is not None:
            self._load_logo(design.logo, design.logo_type)

    @staticmethod
    def _logo_places(root: etree._Element, *, has_logo: bool) -> list[tuple[str, bool]]:
        """Each logo ``<image>`` becomes an invisible box of its size, (id, keep aspect)
        remembered; without a logo it goes (with what is shown only with one)."""
        drop_hidden(root, has_logo=has_logo)
        places: list[tuple[str, bool]] = []
        for n, image in enumerate(logo_images(root)):
            parent = image.getparent()
            namespace = etree.QName(image).namespace
            box = etree.Element(f"{{{namespace}}}rect" if namespace else "rect")
            for name in ("x", "y", "width", "height", "transform"):
                if image.get(name) is not None:
                    box.set(name, image.get(name))
            box.set("id", image.get("id") or f"rollbook-logo-{n}")
            box.set("fill", "none")
            box.set("stroke", "none")
            parent.replace(image, box)
            places.append((box.get("id"), image.get("preserveAspectRatio") != "none"))
        return places

    @staticmethod
    def _fits(root: etree._Element) -> list[_Fit]:
        fits: list[_Fit] = []
        for n, element in enumerate(root.iter()):
            wanted = element.get(FIT_WIDTH) if isinstance(element.tag, str) else None
            found = _NUMBER.match(wanted or "")
            if found is None or float(found.group()) <= 0:
                continue
            if not element.get("id"):
                element.set("id", f"rollbook-fit-{n}")
            fits.append(_Fit(element.get("id"), float(found.group())))
        return fits

    def _load_logo(self, logo: bytes, logo_type: str | None) -> None:
        if logo_type == "svg":
            renderer = QSvgRenderer(QByteArray(logo))
            if renderer.isValid():
                self.logo_svg = renderer
                return
        else:
            image = QImage.fromData(logo)
            if not image.isNull():
                self.logo_image = image
                return
        raise ValidationError("logo", "The school's logo could not be read as a picture; "
                              "choose it again in Settings > Certificates.")  # fmt: skip

    # ------------------------------------------------------------ one page
    def renderer(self, certificate: PrintableCertificate) -> QSvgRenderer:
        """The certificate's page as Qt will draw it, its long texts fitted."""
        svg = fill_template(self.template, placeholder_values(certificate, self.school_name))
        renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
        if not renderer.isValid():
            raise ValidationError("template", "The school's certificate template cannot be "
                                  "drawn; choose another in Settings > Certificates.")  # fmt: skip
        too_wide = {}
        for fit in self.fits:
            width = renderer.boundsOnElement(fit.element_id).width()
            if width > fit.width:
                too_wide[fit.element_id] = fit.width / width
        if too_wide:
            renderer = QSvgRenderer(QByteArray(_shrunk(svg, too_wide).encode("utf-8")))
        return renderer

    def paint(self, painter: QPainter, target: QRectF, certificate: PrintableCertificate) -> None:
        """Draw the certificate into ``target`` (the drawing's proportions kept)."""
        renderer = self.renderer(certificate)
        view = renderer.viewBoxF()
        if view.isEmpty():
            view = QRectF(0, 0, renderer.defaultSize().width(), renderer.defaultSize().height())
        scale = min(target.width() / view.width(), target.height() / view.height())
        page = QRectF(0, 0, view.width() * scale, view.height() * scale)
        page.moveCenter(target.center())
        renderer.render(painter, page)
        for element_id, keep_aspect in self.logo_ids:
            local = renderer.transformForElement(element_id).mapRect(
                renderer.boundsOnElement(element_id))  # fmt: skip
            place = QRectF(page.x() + (local.x() - view.x()) * scale,
                           page.y() + (local.y() - view.y()) * scale,
                           local.width() * scale, local.height() * scale)  # fmt: skip
            self._paint_logo(painter, place, keep_aspect)

    def _paint_logo(self, painter: QPainter, place: QRectF, keep_aspect: bool) -> None:
        if self.logo_svg is not None:
            size = self.logo_svg.viewBoxF().size()
            if size.isEmpty():
                size = QSizeF(self.logo_svg.defaultSize())
        elif self.logo_image is not None:
            size = QSizeF(self.logo_image.size())
        else:
            return
        if keep_aspect and not size.isEmpty():
            fitted = size.scaled(place.size(), Qt.AspectRatioMode.KeepAspectRatio)
            box = QRectF(0, 0, fitted.width(), fitted.height())
            box.moveCenter(place.center())
        else:
            box = place
        if self.logo_svg is not None:
            self.logo_svg.render(painter, box)
        else:
            # The same QImage on every page: the PDF holds it once.
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(box, self.logo_image)


def _first_number(value: str | None) -> float:
    found = _NUMBER.match((value or "").strip())
    return float(found.group()) if found else 0.0


def _shrunk(svg: str, factors: dict[str, float]) -> str:
    """``svg`` with each text of ``factors`` scaled down by its factor around where it
    starts (its x, y), so a centred text stays centred on its baseline."""
    root = parse_svg(svg)
    for element in root.iter():
        factor = factors.get(element.get("id") or "") if isinstance(element.tag, str) else None
        if factor is None:
            continue
        anchor = element if element.get("x") is not None else next(
            (child for child in element.iter() if child.get("x") is not None), element)  # fmt: skip
        x, y = _first_number(anchor.get("x")), _first_number(anchor.get("y"))
        # Slightly below the exact factor: what Qt measured and what it draws may differ
        # by a hair.
        factor *= 0.98
        shrink = f"translate({x:g} {y:g}) scale({factor:.4f}) translate({-x:g} {-y:g})"
        element.set("transform", f"{element.get('transform', '')} {shrink}".strip())
    return serialize_svg(root)


# ---------------------------------------------------------------- the PDF and the preview


def write_certificates_pdf(batch: PrintBatch, path: Path, job: Job | None = None) -> int:
    """Write ``batch`` to the PDF ``path``, one page per certificate; the pages written.
    Progress and Cancel between pages; the file is replaced only when complete."""
    job = job or Job()
    page = _Page(batch.design)
    total = len(batch.certificates)
    job.progress(0, total, f"Preparing {counted(total, 'certificate')}…")
    with saving(Path(path)) as temp:
        writer = QPdfWriter(str(temp))
        writer.setResolution(RESOLUTION_DPI)
        upright = page.aspect > 1
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                         QPageLayout.Orientation.Portrait if upright
                                         else QPageLayout.Orientation.Landscape,
                                         QMarginsF(0, 0, 0, 0)))  # fmt: skip
        writer.setTitle(f"Certificates — {batch.event_name}")
        writer.setCreator(f"Rollbook {app_version()}")
        painter = QPainter()
        if not painter.begin(writer):
            raise FileNotSaved(why_not_saved(Path(path), OSError("the PDF could not be opened")))
        try:
            for n, certificate in enumerate(batch.certificates):
                job.check_cancel()
                if n:
                    writer.newPage()
                target = QRectF(0, 0, writer.width(), writer.height())
                page.paint(painter, target, certificate)
                job.progress(n + 1, total, f"Certificate {n + 1:,} of {total:,}: "
                             f"{certificate.student_name}")  # fmt: skip
        finally:
            painter.end()
            del writer  # the file is closed before it is moved into place
    return total


def render_certificate_image(
    certificate: PrintableCertificate, design: CertificateDesign, width_px: int
) -> QImage:
    """The certificate drawn ``width_px`` wide on white, as high as its drawing's
    proportions make it (the Settings preview)."""
    page = _Page(design)
    height = round(width_px * page.aspect)
    image = QImage(width_px, height, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    try:
        page.paint(painter, QRectF(0, 0, width_px, height), certificate)
    finally:
        painter.end()
    return image


# ---------------------------------------------------------------- asking and telling


def ask_pdf_path(parent: QWidget | None, title: str, suggested_name: str) -> Path | None:
    """Where to save a certificates PDF, or None; the folder is remembered."""
    return ask_save_path(parent, title, suggested_name, folder_key="folders/certificates",
                         formats=(PDF,))  # fmt: skip


def pdf_name(event_name: str) -> str:
    """ "science-fair-certificates.pdf"."""
    words = re.sub(r"[^\w]+", "-", event_name.lower()).strip("-")
    return f"{words or 'event'}-certificates.pdf"


def tell_saved(parent: QWidget | None, pages: int, path: Path) -> QMessageBox:
    """Say where the certificates were saved, with Open to look at them."""
    box = QMessageBox(QMessageBox.Icon.Information, "Certificates saved",
                      f"Saved {counted(pages, 'certificate')} to {path.name}\nin {path.parent}.",
                      QMessageBox.StandardButton.Close, parent)  # fmt: skip
    open_button = box.addButton("&Open", QMessageBox.ButtonRole.AcceptRole)
    open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
    box.setDefaultButton(open_button)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
