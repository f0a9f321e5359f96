"""Notifications a reader's preferences let through: stored, listed, marked read, and
sent to their devices as `notification` events."""
