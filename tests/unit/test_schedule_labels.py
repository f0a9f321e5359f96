"""Which jobs the schedulers (the taskiq scheduler and the embedded loop) fire when: both
read the same cron labels."""

from __future__ import annotations

from datetime import UTC, datetime

import workers.tasks  # noqa: F401 - registers every task
from server.schedule_loop import due_tasks
from workers.broker import broker


def at(hour: int, minute: int) -> set[str]:
    return set(due_tasks(broker, datetime(2026, 11, 27, hour, minute, tzinfo=UTC)))


def test_each_job_is_due_on_its_schedule() -> None:
    assert at(3, 27) == {"maintenance.clean_old_data"}
    assert at(10, 7) == {"maintenance.partitions"}
    assert at(10, 17) == {"maintenance.purge_expired"}
    assert at(10, 20) == {"maintenance.refresh_views", "books.sweep", "imports.sweep",
                          "highlights.analyze", "quotes.trending",
                          "maintenance.close_sessions"}  # fmt: skip
    assert at(10, 37) == {"quotes.template_metrics"}
    assert at(10, 22) == {"highlights.analyze"}
    assert at(10, 21) == set()
    assert at(10, 0) == {"maintenance.refresh_views", "books.sweep", "imports.sweep",
                         "highlights.analyze", "quotes.trending", "maintenance.close_sessions",
                         "notifications.reminders"}  # fmt: skip
    assert at(10, 13) == at(10, 53) == {"books.reindex"}
