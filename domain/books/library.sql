-- The reader's library (domain/books/library.py): one filter, a keyset query per sort.

-- name: library_where
-- $1 the caller, $2 scope, $3 a tsquery of word prefixes, $4 genre, $5 difficulty,
-- $6 status for the caller (p: their reading_progress row, if any)
b.deleted_at IS NULL
AND CASE $2::text WHEN 'mine' THEN b.user_id = $1
                  WHEN 'public' THEN b.visibility = 'public'
                  ELSE b.user_id = $1 OR b.visibility = 'public' END
AND ($3::text IS NULL OR to_tsvector('simple', b.title || ' ' || coalesce(b.author, ''))
                         @@ to_tsquery('simple', $3))
AND ($4::text IS NULL OR lower(b.genre) = lower($4))
AND ($5::integer IS NULL OR b.difficulty_level = $5)
AND CASE $6::text WHEN 'finished' THEN p.completed IS TRUE
                  WHEN 'reading' THEN p.id IS NOT NULL AND NOT p.completed
                  WHEN 'not_started' THEN p.id IS NULL
                  ELSE true END

-- name: library_recent
-- the caller's last reading of the book, else when it was added
SELECT {b_book_columns}, coalesce(p.last_read_at, b.created_at) AS sort_key
FROM books b
LEFT JOIN reading_progress p ON p.book_id = b.id AND p.user_id = $1
WHERE {library_where}
  AND ($7::timestamptz IS NULL OR (coalesce(p.last_read_at, b.created_at), b.id) < ($7, $8))
ORDER BY sort_key DESC, b.id DESC
LIMIT $9

-- name: library_title
SELECT {b_book_columns}, lower(b.title) AS sort_key
FROM books b
LEFT JOIN reading_progress p ON p.book_id = b.id AND p.user_id = $1
WHERE {library_where}
  AND ($7::text IS NULL OR lower(b.title) > $7 OR (lower(b.title) = $7 AND b.id > $8))
ORDER BY sort_key, b.id
LIMIT $9

-- name: library_popular
-- by how many readers opened it
SELECT {b_book_columns}, b.readers_count AS sort_key
FROM books b
LEFT JOIN reading_progress p ON p.book_id = b.id AND p.user_id = $1
WHERE {library_where}
  AND ($7::integer IS NULL OR (b.readers_count, b.id) < ($7, $8))
ORDER BY sort_key DESC, b.id DESC
LIMIT $9

-- name: rate_book
INSERT INTO book_ratings (book_id, user_id, rating) VALUES ($1, $2, $3)
ON CONFLICT (book_id, user_id) DO UPDATE SET rating = EXCLUDED.rating

-- name: unrate_book
DELETE FROM book_ratings WHERE book_id = $1 AND user_id = $2

-- name: rating_of
-- the caller's rating beside the book's average (kept by 0027's trigger)
SELECT b.id AS book_id, r.rating, b.community_rating, b.ratings_count
FROM books b LEFT JOIN book_ratings r ON r.book_id = b.id AND r.user_id = $2
WHERE b.id = $1
