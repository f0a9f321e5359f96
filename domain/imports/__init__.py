"""Highlights brought in from other tools: Kindle, KOReader, Readwise."""
