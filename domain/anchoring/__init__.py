"""Anchoring positions to the words they mark: finding quotes in a book's text."""
