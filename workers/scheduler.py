"""The taskiq scheduler (Procfile `scheduler:`): sends each task whose `schedule` label's
cron matches. Jobs claim their slot, so a second scheduler cannot double-run them."""

from taskiq import TaskiqScheduler
from taskiq.schedule_sources import LabelScheduleSource

import workers.tasks  # noqa: F401 - registers the scheduled tasks
from workers.broker import broker

scheduler = TaskiqScheduler(broker, sources=[LabelScheduleSource(broker)])
