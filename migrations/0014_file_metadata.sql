-- What the file itself says its title and author are, kept apart from the owner's
-- (editable) title and author: a second upload of the same file reuses the parsed text
-- and vectors, and takes its metadata from here, never from another reader's edits.
ALTER TABLE books ADD COLUMN file_title text, ADD COLUMN file_author text,
    ADD COLUMN file_metadata_known boolean NOT NULL DEFAULT false;
