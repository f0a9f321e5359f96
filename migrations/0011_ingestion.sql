-- Ingestion bookkeeping: how many times a book was taken up, and when the current attempt
-- began, so a sweeper can retry (or fail, with a reason) a book whose worker died.
ALTER TABLE books
    ADD COLUMN processing_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN processing_started_at timestamptz;
CREATE INDEX index_books_on_unfinished ON books (processing_started_at)
    WHERE processing_status IN ('pending', 'processing');
