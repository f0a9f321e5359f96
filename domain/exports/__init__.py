"""The reader's highlights, notes and bookmarks in the formats other tools read."""
