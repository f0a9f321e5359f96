"""Every task module, imported so the broker knows them (`taskiq worker workers.broker:broker
workers.tasks`)."""

from workers import enrich, imports, ingest, maintenance, reindex, social

__all__ = ["enrich", "imports", "ingest", "maintenance", "reindex", "social"]
