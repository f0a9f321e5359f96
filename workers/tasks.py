"""Every task module, imported so the broker knows them (`taskiq worker workers.broker:broker
workers.tasks`)."""

from workers import enrich, ingest, maintenance, social

__all__ = ["enrich", "ingest", "maintenance", "social"]
