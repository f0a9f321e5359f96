-- Retrieval, second shape (issue 14): ~250-word passages, each also embedded as short
-- overlapping windows, the passage ranked by its best window; BM25 computed at query time
-- from the stored lexemes. Books indexed before keep working (their passages' own
-- vectors stand in for windows) and are marked stale by index_version: the
-- books.reindex maintenance task rebuilds them one at a time.
CREATE TABLE passage_windows (
    passage_id uuid NOT NULL REFERENCES book_embeddings (id) ON DELETE CASCADE,
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    embedding vector(384) NOT NULL
);
CREATE INDEX index_passage_windows_on_book_id ON passage_windows (book_id);
CREATE INDEX index_passage_windows_on_passage_id ON passage_windows (passage_id);

ALTER TABLE books ADD COLUMN index_version integer NOT NULL DEFAULT 1;
CREATE INDEX index_books_on_index_version ON books (index_version)
    WHERE processing_status = 'completed' AND deleted_at IS NULL;
