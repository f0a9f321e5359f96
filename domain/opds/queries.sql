-- The catalog shows completed books the reader may read, each list with its own order;
-- $2 and $3 are LIMIT and OFFSET.

-- name: my_books
SELECT {book_columns} FROM books
WHERE user_id = $1 AND processing_status = 'completed' AND deleted_at IS NULL
ORDER BY created_at DESC, id
LIMIT $2 OFFSET $3

-- name: public_books
SELECT {book_columns} FROM books
WHERE visibility = 'public' AND processing_status = 'completed' AND deleted_at IS NULL
  AND $1::uuid IS NOT NULL  -- every list takes the reader first
ORDER BY created_at DESC, id
LIMIT $2 OFFSET $3

-- name: recently_read
SELECT {b_book_columns} FROM books b
JOIN reading_progress p ON p.book_id = b.id AND p.user_id = $1
WHERE b.processing_status = 'completed' AND b.deleted_at IS NULL
  AND (b.user_id = $1 OR b.visibility = 'public') AND p.last_read_at IS NOT NULL
ORDER BY p.last_read_at DESC, b.id
LIMIT $2 OFFSET $3

-- name: by_author
SELECT {book_columns} FROM books
WHERE (user_id = $1 OR visibility = 'public') AND processing_status = 'completed'
  AND deleted_at IS NULL AND coalesce(author, '') = $4
ORDER BY title, id
LIMIT $2 OFFSET $3

-- name: search
-- title or author holding every word of $4
SELECT {book_columns} FROM books
WHERE (user_id = $1 OR visibility = 'public') AND processing_status = 'completed'
  AND deleted_at IS NULL
  AND (SELECT bool_and(coalesce(title, '') || ' ' || coalesce(author, '')
                       ILIKE '%' || replace(replace(replace(w, '\', '\\'), '%', '\%'), '_', '\_') || '%')
       FROM unnest(regexp_split_to_array(trim($4), '\s+')) AS w)
ORDER BY title, id
LIMIT $2 OFFSET $3

-- name: authors
SELECT coalesce(author, '') AS author, count(*) AS books FROM books
WHERE (user_id = $1 OR visibility = 'public') AND processing_status = 'completed'
  AND deleted_at IS NULL
GROUP BY coalesce(author, '')
ORDER BY coalesce(author, '') = '', lower(coalesce(author, ''))
LIMIT $2 OFFSET $3
