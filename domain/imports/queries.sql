-- name: create_import
INSERT INTO imports (user_id, book_id, format, filename, source, total)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *

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
