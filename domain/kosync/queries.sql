-- name: book_for_document
-- The reader's book with KOReader's id $2: their own upload first, else a public book
-- they have opened. Two readers with the same file each get their own.
SELECT b.id, b.file_type, b.file_sha256 FROM books b
WHERE b.partial_md5 = $2 AND b.deleted_at IS NULL AND b.processing_status = 'completed'
  AND (b.user_id = $1
       OR (b.visibility = 'public'
           AND EXISTS (SELECT 1 FROM reading_progress p
                       WHERE p.user_id = $1 AND p.book_id = b.id)))
ORDER BY b.user_id = $1 DESC, b.created_at DESC
LIMIT 1

-- name: chapter_spans
SELECT start_offset, end_offset, start_page, end_page, source_index
FROM book_chapters WHERE book_id = $1 ORDER BY chapter_number

-- name: passage_with_page
-- the first passage holding page $2 (for a PDF page's first character)
SELECT start_offset, end_offset, start_page, end_page FROM book_embeddings
WHERE book_id = $1 AND start_page <= $2 AND end_page >= $2
ORDER BY start_offset
LIMIT 1

-- name: save_device_progress
INSERT INTO kosync_progress AS k (user_id, document, progress, percentage, device, device_id,
                                  updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (user_id, document) DO UPDATE
SET progress = $3, percentage = $4, device = $5, device_id = $6, updated_at = $7

-- name: device_progress
SELECT progress, percentage, device, device_id, updated_at FROM kosync_progress
WHERE user_id = $1 AND document = $2

-- name: progress_before_book
-- KOReader's position on the book's file, stored before its owner uploaded it
SELECT b.id, b.user_id, b.file_type, b.file_sha256, k.document, k.progress, k.percentage,
       k.device,
       k.device_id
FROM books b JOIN kosync_progress k ON k.user_id = b.user_id AND k.document = b.partial_md5
WHERE b.id = $1

-- name: chapter_text
SELECT content FROM book_chapters WHERE book_id = $1 AND start_offset = $2
