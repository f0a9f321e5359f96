-- name: books
-- The books whose marks are exported: those of $2 (one book, checked readable before),
-- or every book the reader has a highlight, note or bookmark on ($2 NULL)
SELECT b.id, b.title, b.author, b.file_type FROM books b
WHERE b.deleted_at IS NULL
  AND CASE WHEN $2::uuid IS NOT NULL THEN b.id = $2 ELSE
      EXISTS (SELECT 1 FROM highlights h
              WHERE h.book_id = b.id AND h.user_id = $1 AND h.deleted_at IS NULL)
      OR EXISTS (SELECT 1 FROM bookmarks m WHERE m.book_id = b.id AND m.user_id = $1
                 AND m.deleted_at IS NULL AND NOT m.is_auto_bookmark)
      OR EXISTS (SELECT 1 FROM annotations a
                 WHERE a.book_id = b.id AND a.user_id = $1 AND a.deleted_at IS NULL) END
ORDER BY lower(b.title), b.id

-- name: highlights
-- The reader's highlights on the books $2, in reading order, each with its chapter and
-- its quote selector's context (kept by the triggers of migration 0024)
SELECT h.id, h.book_id, h.selected_text, h.note, h.tags, h.color, h.category,
       h.page_number, h.start_offset, h.end_offset, h.created_at, h.updated_at,
       c.title AS chapter_title, c.chapter_number,
       coalesce(h.quote_prefix, '') AS prefix, coalesce(h.quote_suffix, '') AS suffix,
       coalesce((SELECT jsonb_agg(a.content ORDER BY a.created_at) FROM annotations a
                 WHERE a.highlight_id = h.id AND a.user_id = $1 AND a.deleted_at IS NULL
                   AND a.annotation_type = 'text'), '[]') AS notes
FROM highlights h
LEFT JOIN book_chapters c ON c.id = h.book_chapter_id
WHERE h.user_id = $1 AND h.book_id = ANY($2::uuid[]) AND h.deleted_at IS NULL
ORDER BY h.book_id, h.start_offset NULLS LAST, h.created_at

-- name: bookmarks
SELECT m.id, m.book_id, m.title, m.note, m.page_number, m.created_at, m.context_text,
       CASE WHEN jsonb_typeof(m.position_data -> 'offset') = 'number'
            THEN (m.position_data ->> 'offset')::numeric::bigint END AS offset_at,
       c.title AS chapter_title, c.chapter_number
FROM bookmarks m LEFT JOIN book_chapters c ON c.id = m.book_chapter_id
WHERE m.user_id = $1 AND m.book_id = ANY($2::uuid[]) AND m.deleted_at IS NULL
  AND NOT m.is_auto_bookmark
ORDER BY m.book_id, m.page_number, m.created_at

-- name: notes
-- The reader's text notes that are not on a highlight (those go with it)
SELECT a.id, a.book_id, a.content, a.page_number, a.tags, a.attached_text, a.created_at,
       a.updated_at,
       CASE WHEN jsonb_typeof(a.position_data -> 'offset') = 'number'
            THEN (a.position_data ->> 'offset')::numeric::bigint END AS offset_at
FROM annotations a
WHERE a.user_id = $1 AND a.book_id = ANY($2::uuid[]) AND a.deleted_at IS NULL
  AND a.highlight_id IS NULL AND a.annotation_type = 'text'
ORDER BY a.book_id, a.page_number, a.created_at
