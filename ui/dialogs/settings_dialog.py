"""Tools > Settings… (Ctrl+,): the person's own settings, and the school's attendance
rule, sign-in rules (ui.dialogs.account_rules_group) and certificate design (kept in
the database, for everyone). Each takes effect as
it is ticked or chosen; Close closes.

Certificates: the school's own template (an SVG drawing with placeholders, see
resources/certificates/certificate.svg) or Rollbook's, and its logo (PNG, JPEG or SVG),
with a preview of a made-up certificate in that design. The service checks what is
chosen and refuses it in words (not an SVG, no {student_name}, a logo over 2 MB)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import ValidationError
from app.services import attendance, certificate_print
from app.services.certificate_print import (
    MAX_LOGO_BYTES,
    MAX_TEMPLATE_BYTES,
    SAMPLE_CERTIFICATE,
    CertificateDesign,
    size_text,
)
from ui import preferences
from ui.dialogs.parts import refusal_label
from ui.ops import Op, error_text

PREVIEW_WIDTH = 420
DESIGN_FOLDER = "folders/certificate_design"
_KEEP = Path("<as it is>")  # _save_design: leave this part of the design as it is


class SettingsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(460)
        self.reminders = self._switch(
            "Show session &reminders", preferences.REMINDERS,
            "A desktop notification before a session whose alarm is on, as many minutes"
            " before as the session says",
        )  # fmt: skip
        self.announcements = self._switch(
            "&Announce changes to sessions", preferences.ANNOUNCEMENTS,
            "When a session is moved, cancelled or changes room, a line in the window's"
            " notification area (for sessions with notifications on)",
        )  # fmt: skip
        hint = QLabel(
            "Rollbook looks for both while it runs. They appear in the notification"
            " area at the bottom of the window (View > Notifications); reminders also"
            " pop up from the system tray where there is one."
        )
        hint.setWordWrap(True)
        hint.setObjectName("settingsHint")
        hint.setStyleSheet("QLabel#settingsHint { color: palette(placeholder-text); }")
        group = QGroupBox("&Notifications")
        group_layout = QVBoxLayout(group)
        group_layout.addWidget(self.reminders)
        group_layout.addWidget(self.announcements)
        group_layout.addSpacing(4)
        group_layout.addWidget(hint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(group)
        layout.addWidget(self._school_group())
        from ui.dialogs.account_rules_group import AccountRulesGroup

        self.account_rules = AccountRulesGroup(parent)
        layout.addWidget(self.account_rules)
        layout.addWidget(self._certificates_group())
        if hasattr(parent, "sync"):  # a desktop that syncs with a school server
            from ui.dialogs.sync_settings import SyncSettingsGroup

            layout.addWidget(SyncSettingsGroup(parent))
        layout.addStretch(1)
        layout.addWidget(buttons)
        # As big as what it shows, growing with a refusal: a window Qt sizes by the
        # minimum of its wrapped hints squeezes the certificate preview.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetFixedSize)
        # Enter in a field (the idle minutes) confirms that field; it must not press the
        # dialog's first button and open a file chooser. Esc closes.
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
            button.setDefault(False)

    # ------------------------------------------------------------ the school's rule
    def _school_group(self) -> QGroupBox:
        self.excused_rule = QCheckBox("An &excused absence needs a reason")
        self.excused_rule.setToolTip("Marking a student excused asks for the reason in the "
                                     "mark's note (for everyone at this school)")  # fmt: skip
        self.excused_rule.setEnabled(False)  # until the school's rule is read
        self.rule_message = refusal_label()
        group = QGroupBox("&School attendance rules")
        group_layout = QVBoxLayout(group)
        group_layout.addWidget(self.excused_rule)
        group_layout.addWidget(self.rule_message)
        Op(self, lambda s, ctx, job: attendance.excused_needs_reason(s, ctx),
           show_progress=False, read_only=True).success(self._rule_loaded).run()  # fmt: skip
        return group

    def _rule_loaded(self, needed: bool) -> None:
        self.excused_rule.setChecked(needed)
        self.excused_rule.setEnabled(True)
        self.excused_rule.toggled.connect(self._rule_toggled)

    def _rule_toggled(self, needed: bool) -> None:
        self.excused_rule.setEnabled(False)
        Op(self, lambda s, ctx, job: attendance.set_excused_needs_reason(s, ctx, needed),
           show_progress=False).success(lambda _none: self.rule_message.setText("")).failure(
            lambda error: self._rule_refused(needed, error)).finally_(
            lambda: self.excused_rule.setEnabled(True)).run()  # fmt: skip

    def _rule_refused(self, needed: bool, error: BaseException) -> None:
        self.excused_rule.blockSignals(True)
        self.excused_rule.setChecked(not needed)  # the rule stays as it is
        self.excused_rule.blockSignals(False)
        self.rule_message.setText(error_text(error))

    # ------------------------------------------------------------ certificates
    def _certificates_group(self) -> QGroupBox:
        self.design: CertificateDesign | None = None
        self.preview_image: QImage | None = None
        self.preview = QLabel("")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setFixedSize(PREVIEW_WIDTH, round(PREVIEW_WIDTH * 210 / 297))
        self.preview.setToolTip("A made-up certificate in the school's design")
        self.design_summary = QLabel("Reading the school's design…")
        self.template_button = QPushButton("Choose S&VG template…")
        self.template_button.setToolTip("A certificate drawn in Inkscape or another SVG "
                                        "editor, with placeholders such as {student_name}; "
                                        "start from Rollbook's design (resources/certificates/"
                                        "certificate.svg)")  # fmt: skip
        self.template_button.clicked.connect(self.choose_template)
        self.default_button = QPushButton("Use Rollbook's &design")
        self.default_button.clicked.connect(lambda: self._save_design(template=None))
        self.logo_button = QPushButton("Choose &logo…")
        self.logo_button.setToolTip("The school's logo: a PNG, JPEG or SVG picture of up "
                                    "to 2 MB")  # fmt: skip
        self.logo_button.clicked.connect(self.choose_logo)
        self.remove_logo_button = QPushButton("Re&move logo")
        self.remove_logo_button.clicked.connect(lambda: self._save_design(logo=None))
        self.design_message = refusal_label()
        buttons = QGridLayout()
        buttons.addWidget(self.template_button, 0, 0)
        buttons.addWidget(self.default_button, 0, 1)
        buttons.addWidget(self.logo_button, 1, 0)
        buttons.addWidget(self.remove_logo_button, 1, 1)
        group = QGroupBox("Cer&tificates")
        group_layout = QVBoxLayout(group)
        group_layout.addWidget(self.preview)
        group_layout.addWidget(self.design_summary)
        group_layout.addLayout(buttons)
        group_layout.addWidget(self.design_message)
        self._design_buttons(enabled=False)  # until the design is read
        Op(self, lambda s, ctx, job: certificate_print.certificate_design(s, ctx),
           show_progress=False, read_only=True).success(self._design_loaded).failure(
            lambda error: self.design_message.setText(error_text(error))).run()  # fmt: skip
        return group

    def _design_buttons(self, *, enabled: bool) -> None:
        design = self.design
        self.template_button.setEnabled(enabled)
        self.logo_button.setEnabled(enabled)
        self.default_button.setEnabled(enabled and design is not None and not design.is_default)
        self.remove_logo_button.setEnabled(enabled and design is not None
                                           and design.logo is not None)  # fmt: skip

    def _design_loaded(self, design: CertificateDesign) -> None:
        self.design = design
        template = "Rollbook's design" if design.is_default else "The school's own template"
        logo = (f"the school's {design.logo_type.upper()} logo ({size_text(len(design.logo))})"
                if design.logo is not None and design.logo_type else "no logo")  # fmt: skip
        self.design_summary.setText(f"{template}, with {logo}.")
        self._design_buttons(enabled=True)
        self._show_preview(design)

    def _show_preview(self, design: CertificateDesign) -> None:
        from ui.printing import render_certificate_image  # Qt SVG loads when it is needed

        try:
            ratio = self.devicePixelRatioF()
            image = render_certificate_image(SAMPLE_CERTIFICATE, design,
                                             round(PREVIEW_WIDTH * ratio))  # fmt: skip
        except ValidationError as error:
            self.preview_image = None
            self.preview.setPixmap(QPixmap())
            self.preview.setText("No preview")
            self.design_message.setText(str(error))
            return
        box = self.preview.size() * ratio
        if image.height() > box.height():  # an upright design: fit it in the box
            image = image.scaled(box, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)  # fmt: skip
        image.setDevicePixelRatio(ratio)
        self.preview_image = image
        self.preview.setPixmap(QPixmap.fromImage(image))

    def choose_template(self) -> None:
        path = ask_open_path(self, "Certificate template", "SVG drawings (*.svg)")
        if path is not None:
            self._save_design(template=path)

    def choose_logo(self) -> None:
        path = ask_open_path(self, "School logo",
                             "Pictures (*.png *.jpg *.jpeg *.svg);;All files (*)")  # fmt: skip
        if path is not None:
            self._save_design(logo=path)

    def _save_design(self, *, template: Path | None = _KEEP, logo: Path | None = _KEEP) -> None:
        """Store the design with the template and/or logo changed: a file's content,
        None for Rollbook's design / no logo; what is not named stays as it is."""
        current = self.design
        if current is None:
            return

        def work(s, ctx, job) -> CertificateDesign:
            svg, picture, kind = current.school_template, current.logo, current.logo_type
            if template is not _KEEP:
                svg = None if template is None else read_template_file(template)
            if logo is not _KEEP:
                picture = None if logo is None else read_design_file(logo, MAX_LOGO_BYTES, "logo")
                kind = None  # the service tells from the picture itself
            return certificate_print.set_certificate_design(s, ctx, svg, picture, kind)

        self._design_buttons(enabled=False)
        self.design_message.setText("")
        Op(self, work, show_progress=False).success(self._design_loaded).failure(
            self._design_refused).run()  # fmt: skip

    def _design_refused(self, error: BaseException) -> None:
        self.design_message.setText(error_text(error))
        self._design_buttons(enabled=True)

    def _switch(self, text: str, key: str, tip: str) -> QCheckBox:
        box = QCheckBox(text)
        box.setToolTip(tip)
        box.setChecked(preferences.is_on(key))
        box.toggled.connect(lambda on: preferences.set_on(key, on))
        return box


def ask_open_path(parent: QWidget, title: str, filters: str) -> Path | None:
    """A file to read, or None; the folder is remembered for the next design file."""
    folder = QSettings().value(DESIGN_FOLDER, str(Path.home()))
    chosen, _ = QFileDialog.getOpenFileName(parent, title, folder, filters)
    if not chosen:
        return None
    QSettings().setValue(DESIGN_FOLDER, str(Path(chosen).parent))
    return Path(chosen)


def read_design_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of a chosen template or logo file; one over ``limit`` is refused
    without reading it."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise ValidationError(what, f"{path.name} is {size_text(size)}; Rollbook takes a "
                                  f"{what} of up to {size_text(limit)}. Choose a smaller "
                                  "file.")  # fmt: skip
        return path.read_bytes()
    except OSError as exc:
        raise ValidationError(what, f"{path.name} could not be read ({exc.strerror or exc}); "
                              "choose another file.") from None  # fmt: skip


def read_template_file(path: Path) -> str:
    data = read_design_file(path, MAX_TEMPLATE_BYTES, "template")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("template", f"{path.name} is not an SVG drawing saved as "
                              "UTF-8 text; save it from Inkscape as Plain SVG and choose "
                              "it again.") from None  # fmt: skip


def open_settings(parent: QWidget) -> SettingsDialog:
    dialog = SettingsDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
