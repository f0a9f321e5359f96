-- name: create_import
-- $7: the file's titles this import takes (casefolded), or NULL to decide when it runs
INSERT INTO imports (user_id, book_id, format, filename, source, total, titles)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *

-- name: library_books
-- the books a whole-file import may go into: the reader's own, and public ones they read
SELECT b.id, b.title, b.author, b.user_id = $1 AS own FROM books b
WHERE b.deleted_at IS NULL AND b.processing_status = 'completed'
  AND (b.user_id = $1
       OR (b.visibility = 'public'
           AND EXISTS (SELECT 1 FROM reading_progress p
                       WHERE p.book_id = b.id AND p.user_id = $1)))
ORDER BY own DESC, b.created_at DESC

-- name: get_import
SELECT * FROM imports WHERE id = $1 AND user_id = $2

-- name: claim_import
-- The import to run now: queued, or running but left by a worker that died (the sweep
-- sends those again); each claim counts an attempt
UPDATE imports SET status = 'running', attempts = attempts + 1, updated_at = now()
WHERE id = $1 AND status IN ('queued', 'running')
RETURNING *

-- name: book_for_import
SELECT b.id, b.title, b.author, b.page_count, b.processing_status FROM books b
WHERE b.id = $1 AND b.deleted_at IS NULL

-- name: import_progress
UPDATE imports SET done = $2, updated_at = now() WHERE id = $1

-- name: finish_import
-- the file is no longer needed once its report is written
UPDATE imports SET status = $2, done = total, created_count = $3, present_count = $4,
       unmatched_count = $5, other_book_count = $6, report = $7, error = $8,
       source = NULL, finished_at = now(), updated_at = now()
WHERE id = $1
RETURNING *

-- name: stalled_imports
SELECT id, attempts FROM imports
WHERE status IN ('queued', 'running') AND updated_at < now() - make_interval(secs => $1)
