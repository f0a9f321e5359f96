"""Every task module, imported so the broker knows them (`taskiq worker workers.broker:broker
workers.tasks`)."""

from workers import ingest, maintenance

__all__ = ["ingest", "maintenance"]
