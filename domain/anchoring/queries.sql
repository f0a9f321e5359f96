-- name: highlights_on_book
SELECT id, user_id, public, selected_text, quote_prefix, quote_suffix, start_offset,
       end_offset, orphaned
FROM highlights WHERE book_id = $1 AND deleted_at IS NULL AND start_offset IS NOT NULL

-- name: places_on_book
-- bookmarks and notes with a text position (their quote selector set when made)
SELECT 'bookmark' AS kind, id, user_id, false AS public, quote_exact, quote_prefix,
       (position_data ->> 'offset')::numeric::bigint AS offset_at, orphaned
FROM bookmarks
WHERE book_id = $1 AND deleted_at IS NULL AND quote_exact IS NOT NULL
UNION ALL
SELECT 'annotation', id, user_id, public, quote_exact, quote_prefix,
       (position_data ->> 'offset')::numeric::bigint, orphaned
FROM annotations
WHERE book_id = $1 AND deleted_at IS NULL AND quote_exact IS NOT NULL

-- name: move_highlight
UPDATE highlights h
SET start_offset = $2, end_offset = $3, selected_text = $4, page_number = $5,
    orphaned = false,
    book_chapter_id = (SELECT c.id FROM book_chapters c
                       WHERE c.book_id = h.book_id AND c.start_offset <= $2
                         AND c.end_offset > $2 LIMIT 1)
WHERE id = $1
RETURNING {highlight_columns}

-- name: orphan_highlight
UPDATE highlights SET orphaned = true WHERE id = $1 RETURNING {highlight_columns}

-- name: move_bookmark
UPDATE bookmarks m
SET position_data = jsonb_set(position_data, '{offset}', to_jsonb($2::bigint)),
    page_number = $3, orphaned = false,
    book_chapter_id = (SELECT c.id FROM book_chapters c
                       WHERE c.book_id = m.book_id AND c.start_offset <= $2
                         AND c.end_offset > $2 LIMIT 1)
WHERE id = $1
RETURNING {bookmark_columns}

-- name: orphan_bookmark
UPDATE bookmarks SET orphaned = true WHERE id = $1 RETURNING {bookmark_columns}

-- name: move_annotation
UPDATE annotations
SET position_data = jsonb_set(position_data, '{offset}', to_jsonb($2::bigint)),
    page_number = $3, orphaned = false
WHERE id = $1
RETURNING {annotation_columns}

-- name: orphan_annotation
UPDATE annotations SET orphaned = true WHERE id = $1 RETURNING {annotation_columns}

-- name: book_text
SELECT chapter_number, title, start_offset, end_offset, start_page, end_page, content
FROM book_chapters WHERE book_id = $1 ORDER BY chapter_number
