"""Cycles are collected on the window's thread, never by a worker mid-query."""

from __future__ import annotations

import gc
import threading
import weakref

from ui.gc_collector import GuiThreadCollector


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def _cycles(n: int) -> weakref.ref:
    first = _Node()
    for _ in range(n):
        _Node()
    return weakref.ref(first)


def test_cycles_are_collected_by_the_timer_on_the_window_thread(qtbot, qapp):
    busy = threading.Event()
    was_enabled = gc.isenabled()
    collector = GuiThreadCollector(qapp, busy=busy.is_set)
    try:
        assert not gc.isenabled()
        busy.set()  # a background operation runs: nothing is collected meanwhile
        ref = _cycles(gc.get_threshold()[0] * 2)
        collector.check()
        assert ref() is not None
        busy.clear()
        qtbot.waitUntil(lambda: ref() is None, timeout=5_000)
    finally:
        collector.stop()
    assert gc.isenabled() is was_enabled
