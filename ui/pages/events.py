"""Events page: registrations across events, with teams, attendance and certificates."""

from __future__ import annotations

from dataclasses import replace

from app.domain.enums import RegistrationStatus
from app.services import events
from app.services.events import RegistrationQuery
from ui.models.registrations import RegistrationTableModel
from ui.ops import Op
from ui.pages.list_page import ListPage


class EventsPage(ListPage):
    title = "Event registrations"
    menu_text = "E&vent registrations"  # in the View menu
    noun = ("registration", "registrations")

    def __init__(self, parent=None) -> None:
        super().__init__(RegistrationTableModel(), "registrations", parent)
        self.search = self.add_search("Student name, number or e-mail  (Ctrl+F)")
        self.event_filter = self.add_choice("Event", "All events", [])
        self.status_filter = self.add_choice(
            "Status", "All statuses", [(s.value.capitalize(), s.value) for s in RegistrationStatus]
        )
        self.filter_bar.addStretch(1)

    def query_from_filters(self, query: RegistrationQuery) -> RegistrationQuery:
        return replace(
            query,
            search=self.search.text(),
            event_id=self.event_filter.currentData(),
            status=self.status_filter.currentData(),
        )

    def load_choices(self) -> None:
        Op(self, lambda s, ctx, job: events.list_events(s, ctx), show_progress=False).success(
            lambda rows: self.set_choices(
                self.event_filter, [(f"{e.name} ({e.starts_on:%d %b %Y})", e.id) for e in rows]
            )
        ).run()
