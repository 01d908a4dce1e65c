"""Enrollments page: every course enrollment, filterable by course, student and state."""

from __future__ import annotations

from dataclasses import replace

from app.services import courses
from app.services.enrollments import EnrollmentQuery
from ui.models.enrollments import EnrollmentTableModel
from ui.ops import Op
from ui.pages.list_page import ListPage


class EnrollmentsPage(ListPage):
    title = "Course enrollments"
    menu_text = "Course &enrollments"  # in the View menu
    noun = ("enrollment", "enrollments")

    def __init__(self, parent=None) -> None:
        super().__init__(EnrollmentTableModel(), "enrollments", parent)
        self.search = self.add_search("Student name, number or e-mail  (Ctrl+F)")
        self.course_filter = self.add_choice("Course", "All courses", [])
        self.active_filter = self.add_choice(
            "Active", "Active and ended", [("Active only", True), ("Ended only", False)]
        )
        self.filter_bar.addStretch(1)

    def query_from_filters(self, query: EnrollmentQuery) -> EnrollmentQuery:
        return replace(
            query,
            search=self.search.text(),
            course_id=self.course_filter.currentData(),
            active=self.active_filter.currentData(),
        )

    def load_choices(self) -> None:
        Op(self, lambda s, ctx, job: courses.list_courses(s, ctx), show_progress=False).success(
            lambda rows: self.set_choices(self.course_filter, [(c.name, c.id) for c in rows])
        ).run()
