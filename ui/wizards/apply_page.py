"""The step every preview-then-apply wizard ends with: apply on the database worker with
a progress bar and Cancel, then move on to the summary by itself.

A subclass says what to run (``work``), where the result goes (``keep``) and whether
there is one (``has_result``). A failure stays on the page with its message; Cancel
or a failure rolls everything back, and the page says so.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from ui.ops import Op, Work, error_text


class ApplyPage(QWizardPage):
    #: the work talks to the school server: it runs on the ops hub's network lane and is
    #: called with the job alone (it opens its own transactions)
    network = False

    def __init__(
        self, *, title: str, subtitle: str, working: str, cancel_label: str,
        nothing_changed: str = "Nothing was changed.",
    ) -> None:  # fmt: skip
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.setCommitPage(True)  # no Back from here: the change has happened
        self.working = working
        self.nothing_changed = nothing_changed
        self.label = QLabel(working)
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.cancel_button = QPushButton(cancel_label)
        self.cancel_button.clicked.connect(self.cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.op: Op | None = None
        self._done = False

    # ------------------------------------------------------------ to override
    def work(self) -> Work[Any]:
        raise NotImplementedError

    def keep(self, result: Any) -> None:
        raise NotImplementedError

    def has_result(self) -> bool:
        raise NotImplementedError

    def keep_error(self, text: str) -> None:
        """The failure's text, for the summary; the page shows it either way."""

    # ------------------------------------------------------------ the run
    def initializePage(self) -> None:  # noqa: N802
        self._done = False
        self.bar.setRange(0, 0)
        self.label.setText(self.working)
        self.cancel_button.setEnabled(True)
        self.op = Op(self, self.work(), show_progress=False, network=self.network)
        self.op.on_progress(self._progress).success(self._applied).failure(self._failed).run()

    def _progress(self, report) -> None:
        if report.total:
            self.bar.setRange(0, report.total)
            self.bar.setValue(report.done)
        else:
            self.bar.setRange(0, 0)
        self.label.setText(report.text or self.working)

    def cancel(self) -> None:
        if self.op is not None and not self._done:
            self.op.job.cancel()
            self.label.setText("Cancelling… nothing will be changed.")
            self.cancel_button.setEnabled(False)

    @property
    def running(self) -> bool:
        return self.op is not None and not self._done

    def _applied(self, result: Any) -> None:
        self.keep(result)
        self._finish("Done.")
        self.wizard().next()

    def _failed(self, error: BaseException) -> None:
        text = error_text(error)
        self.keep_error(text)
        if self.nothing_changed.lower().rstrip(".") not in text.lower():
            text += f"\n\n{self.nothing_changed}"
        self._finish(text)

    def _finish(self, text: str) -> None:
        self._done = True
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.cancel_button.setEnabled(False)
        self.label.setText(text)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self._done and self.has_result()


def ask_to_stop(wizard: QWizard, page: ApplyPage, title: str, question: str) -> bool:
    """Closing a wizard while it applies asks first; yes cancels the run (the wizard
    stays open until the rollback is done). True when the wizard may close now."""
    if not page.running:
        return True
    answer = QMessageBox.question(wizard, title, question)
    if answer == QMessageBox.StandardButton.Yes:
        page.cancel()
    return False
