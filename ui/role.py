"""What the signed-in person's role allows, so the window greys out the rest and says
why on hover. The services check the same matrix (app.services.permissions) whatever
the window shows; this only spares a person a refusal they could have seen coming.

Until the school has accounts nobody is signed in, and whoever opened the data is its
administrator.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from app.services.permissions import Permission, may, refusal
from app.services.users import context_of
from ui.ops import hub


def allowed(permission: Permission) -> bool:
    user = hub().signed_in
    return user is None or may(user.role, permission)


def why_not(permission: Permission) -> str:
    """The refusal the service would give, for a tooltip."""
    user = hub().signed_in
    if user is None:
        return ""
    return refusal(context_of(user, hub().database.school.id), permission).capitalize()


class RoleGate(QObject):
    """Controls that are always usable unless the role forbids them (menu items): greyed
    with the reason while it does, again after another person signs in."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._guarded: list[tuple[QAction | QWidget, Permission, str]] = []
        hub().signed_in_changed.connect(self.apply)

    def guard(self, control: QAction | QWidget, permission: Permission) -> None:
        self._guarded.append((control, permission, control.toolTip()))
        self._apply_one(control, permission, control.toolTip())

    def apply(self) -> None:
        for control, permission, tip in self._guarded:
            self._apply_one(control, permission, tip)

    @staticmethod
    def _apply_one(control: QAction | QWidget, permission: Permission, tip: str) -> None:
        ok = allowed(permission)
        control.setEnabled(ok)
        control.setToolTip(tip if ok else why_not(permission))
        if isinstance(control, QAction):
            control.setStatusTip(control.toolTip())


def enable(control: QAction | QWidget, enabled: bool, permission: Permission, tip: str) -> None:
    """For a control a page enables by what is selected: usable when that says so and the
    role allows it; while the role forbids it, its tooltip says why."""
    ok = allowed(permission)
    control.setEnabled(enabled and ok)
    control.setToolTip(tip if ok else why_not(permission))
