"""Sessions page: class sessions with their attendance counts."""

from __future__ import annotations

from dataclasses import replace

from app.domain.enums import SessionStatus
from app.services import courses
from app.services.class_sessions import SessionQuery
from ui.models.sessions import SessionTableModel
from ui.ops import Op
from ui.pages.list_page import ListPage


class SessionsPage(ListPage):
    title = "Class sessions"
    menu_text = "&Class sessions"  # in the View menu
    noun = ("session", "sessions")

    def __init__(self, parent=None) -> None:
        super().__init__(SessionTableModel(), "sessions", parent)
        self.course_filter = self.add_choice("Course", "All courses", [])
        self.status_filter = self.add_choice(
            "Status", "All statuses", [(s.value.capitalize(), s.value) for s in SessionStatus]
        )
        self.filter_bar.addStretch(1)

    def query_from_filters(self, query: SessionQuery) -> SessionQuery:
        return replace(
            query,
            course_id=self.course_filter.currentData(),
            status=self.status_filter.currentData(),
        )

    def load_choices(self) -> None:
        Op(self, lambda s, ctx, job: courses.list_courses(s, ctx), show_progress=False).success(
            lambda rows: self.set_choices(self.course_filter, [(c.name, c.id) for c in rows])
        ).run()
