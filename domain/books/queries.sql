-- name: insert_book
INSERT INTO books (id, user_id, title, author, visibility, file_type, file_size, file_path,
                   original_filename, file_sha256, processing_status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending')
RETURNING {book_columns}

-- name: book_by_id
SELECT {book_columns} FROM books WHERE id = $1

-- name: readable_books
SELECT {book_columns} FROM books
WHERE (user_id = $1 OR visibility = 'public')
  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
ORDER BY created_at DESC, id DESC
LIMIT $4

-- name: update_book
UPDATE books
SET title = coalesce($2, title),
    author = CASE WHEN $3 THEN $4 ELSE author END,
    description = CASE WHEN $5 THEN $6 ELSE description END,
    genre = CASE WHEN $7 THEN $8 ELSE genre END,
    language = coalesce($9, language),
    visibility = coalesce($10, visibility)
WHERE id = $1
RETURNING {book_columns}

-- name: delete_book
DELETE FROM books WHERE id = $1 RETURNING file_path

-- name: chapters
SELECT {chapter_columns} FROM book_chapters WHERE book_id = $1 ORDER BY chapter_number

-- name: chapter
SELECT {chapter_columns}, content FROM book_chapters
WHERE book_id = $1 AND chapter_number = $2

-- name: claim_for_ingest
UPDATE books
SET processing_status = 'processing', processing_error = NULL,
    processing_attempts = processing_attempts + 1, processing_started_at = now()
WHERE id = $1 AND processing_status IN ('pending', 'processing')
RETURNING {book_columns}, file_path, processing_attempts

-- name: insert_chapter
INSERT INTO book_chapters (book_id, chapter_number, title, content, start_page, end_page,
                           start_offset, end_offset, word_count, character_count)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)

-- name: stalled_books
SELECT id, processing_attempts FROM books
WHERE processing_status IN ('pending', 'processing')
  AND coalesce(processing_started_at, created_at) < now() - make_interval(secs => $1)

-- name: replace_chapters_delete
DELETE FROM book_chapters WHERE book_id = $1

-- name: finish_ingest
UPDATE books
SET processing_status = 'completed',
    processing_completed_at = now(),
    title = CASE WHEN $2 THEN coalesce($3, title) ELSE title END,
    author = coalesce(author, $4),
    page_count = $5,
    word_count = $6,
    reading_time_minutes = $7,
    difficulty_level = $8,
    cover_image_url = $9
WHERE id = $1
RETURNING {book_columns}

-- name: fail_ingest
UPDATE books SET processing_status = 'failed', processing_error = $2
WHERE id = $1 AND processing_status <> 'completed'
RETURNING user_id
