-- KOReader sync (issue 16): a password for devices, books found by KOReader's document
-- id, the position each KOReader document last had (byte for byte), and the EPUB spine
-- item each chapter came from (KOReader positions name spine items).
ALTER TABLE users ADD COLUMN sync_password_hash text;

ALTER TABLE books ADD COLUMN partial_md5 text;
CREATE INDEX index_books_on_partial_md5 ON books (partial_md5) WHERE partial_md5 IS NOT NULL;

-- 1-based spine position (EPUB) of the chapter's first section; null for other formats
ALTER TABLE book_chapters ADD COLUMN source_index integer;

CREATE TABLE kosync_progress (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    document text NOT NULL,
    progress text NOT NULL,
    percentage double precision NOT NULL,
    device text NOT NULL,
    device_id text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, document)
);
