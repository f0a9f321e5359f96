-- name: insert_book
INSERT INTO books (id, user_id, title, author, visibility, file_type, file_size, file_path,
                   original_filename, file_sha256, partial_md5, processing_status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending')
RETURNING {book_columns}

-- name: lock_uploads
-- Held to the end of the upload's transaction: concurrent uploads of one reader count
-- one after another (the count is a statement of its own, so it sees the last commit).
SELECT pg_advisory_xact_lock(hashtextextended('uploads:' || $1::uuid::text, 0))

-- name: uploads_this_hour
-- The uploader's books and replaced files of the last hour, with the seconds until the
-- oldest leaves it (at most an hour: a racing upload's transaction may have started
-- after this one's).
SELECT count(*) AS n,
       least(3600, ceil(extract(epoch FROM min(at) + interval '1 hour' - now())))::int
           AS wait_s
FROM (SELECT created_at AS at FROM books
      WHERE user_id = $1 AND created_at > now() - interval '1 hour'
      UNION ALL
      SELECT replaced_at FROM book_file_replacements
      WHERE user_id = $1 AND replaced_at > now() - interval '1 hour') recent

-- name: replace_file
-- the owner's ready (or failed) book gets another file; ingestion reads it again
UPDATE books
SET file_type = $3, file_size = $4, file_path = $5, original_filename = $6,
    file_sha256 = $7, partial_md5 = $8, processing_status = 'pending',
    processing_error = NULL, processing_attempts = 0
WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL
  AND processing_status IN ('completed', 'failed')
RETURNING {book_columns}

-- name: record_replacement
INSERT INTO book_file_replacements (book_id, user_id) VALUES ($1, $2)

-- name: book_by_id
SELECT {book_columns} FROM books WHERE id = $1

-- name: update_book
UPDATE books
SET title = coalesce($2, title),
    author = CASE WHEN $3 THEN $4 ELSE author END,
    description = CASE WHEN $5 THEN $6 ELSE description END,
    genre = CASE WHEN $7 THEN $8 ELSE genre END,
    language = coalesce($9, language),
    visibility = coalesce($10, visibility),
    isbn_10 = CASE WHEN $11 THEN $12 ELSE isbn_10 END,
    isbn_13 = CASE WHEN $11 THEN $13 ELSE isbn_13 END,
    publisher = CASE WHEN $14 THEN $15 ELSE publisher END,
    published_date = CASE WHEN $16 THEN $17 ELSE published_date END
WHERE id = $1
RETURNING {book_columns}

-- name: delete_book
DELETE FROM books WHERE id = $1 RETURNING file_path

-- name: readers_with_data
-- Other readers whose highlights, bookmarks, notes or AI conversations hang off the book
-- (a position alone is not kept for them: it means nothing without the book).
SELECT user_id FROM highlights WHERE book_id = $1 AND user_id <> $2 AND deleted_at IS NULL
UNION SELECT user_id FROM bookmarks WHERE book_id = $1 AND user_id <> $2 AND deleted_at IS NULL
UNION SELECT user_id FROM annotations WHERE book_id = $1 AND user_id <> $2 AND deleted_at IS NULL
UNION SELECT user_id FROM ai_conversations WHERE book_id = $1 AND user_id <> $2

-- name: soft_delete_book
UPDATE books SET deleted_at = coalesce(deleted_at, now()) WHERE id = $1

-- name: books_of_owner
SELECT id FROM books WHERE user_id = $1 AND deleted_at IS NULL

-- name: purge_deleted_books
-- Deleted books nobody has data on any more go for good (their files are removed by the
-- caller): a batch at a time.
DELETE FROM books b
WHERE b.id IN (
    SELECT d.id FROM books d
    WHERE d.deleted_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM highlights h WHERE h.book_id = d.id AND h.deleted_at IS NULL)
      AND NOT EXISTS (SELECT 1 FROM bookmarks k WHERE k.book_id = d.id AND k.deleted_at IS NULL)
      AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.book_id = d.id AND a.deleted_at IS NULL)
      AND NOT EXISTS (SELECT 1 FROM ai_conversations c WHERE c.book_id = d.id)
    LIMIT $1)
RETURNING b.id

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

-- name: lock_book
SELECT 1 FROM books WHERE id = $1 FOR UPDATE

-- name: replace_chapters_delete
DELETE FROM book_chapters WHERE book_id = $1

-- name: finish_ingest
UPDATE books
SET processing_status = 'completed',
    processing_completed_at = clock_timestamp(),  -- when it finished, not when it began
    title = CASE WHEN $2 THEN coalesce($3, title) ELSE title END,
    author = coalesce(author, $4),
    page_count = $5,
    word_count = $6,
    reading_time_minutes = $7,
    difficulty_level = $8,
    cover_image_url = $9,
    topics = $10,
    key_concepts = $11,
    file_title = $3,
    file_author = $4,
    file_metadata_known = true,
    warnings = $12,
    index_version = $13
WHERE id = $1
RETURNING {book_columns}

-- name: store_facts
-- The file's facts ($2, as facts.FileFacts.columns): each column still holding what the
-- last file said (or nothing, or the default language) takes what this one says.
UPDATE books SET
    isbn_10 = CASE WHEN isbn_13 IS NOT DISTINCT FROM file_facts->>'isbn_13'
                   THEN $2::jsonb->>'isbn_10' ELSE isbn_10 END,
    isbn_13 = CASE WHEN isbn_13 IS NOT DISTINCT FROM file_facts->>'isbn_13'
                   THEN $2::jsonb->>'isbn_13' ELSE isbn_13 END,
    publisher = CASE WHEN publisher IS NOT DISTINCT FROM file_facts->>'publisher'
                     THEN $2::jsonb->>'publisher' ELSE publisher END,
    published_date = CASE WHEN published_date IS NOT DISTINCT FROM
                                   (file_facts->>'published_date')::date
                          THEN ($2::jsonb->>'published_date')::date ELSE published_date END,
    language = CASE WHEN language = coalesce(file_facts->>'language', 'en')
                    THEN coalesce($2::jsonb->>'language', 'en') ELSE language END,
    file_facts = $2::jsonb
WHERE id = $1

-- name: fail_ingest
UPDATE books SET processing_status = 'failed', processing_error = $2
WHERE id = $1 AND processing_status <> 'completed'
RETURNING user_id

-- name: insert_chapters
INSERT INTO book_chapters (book_id, chapter_number, title, content, start_page, end_page,
                           start_offset, end_offset, word_count, character_count,
                           source_index)
SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[],
                         $8::int[], $9::int[], $10::int[], $11::int[])
RETURNING id, chapter_number

-- name: book_terms
-- The postings of the question $2's lexemes in the books $1 (migration 0034).
SELECT t.book_id, t.lexeme, t.chunks, t.tfs, t.lengths
FROM book_terms t
WHERE t.book_id = ANY($1)
  AND t.lexeme = ANY(ARRAY(SELECT lexeme FROM unnest(to_tsvector('english', $2))))

-- name: term_totals
-- BM25's N and the words of those N passages, over the books $1.
SELECT coalesce(sum(passages), 0)::int8 AS passages, coalesce(sum(words), 0)::int8 AS words
FROM book_term_totals WHERE book_id = ANY($1)

-- name: chunks_ending_by
-- The passages of the books $1 that end at or before the offset $2 (spoiler safety).
SELECT book_id, chunk_index FROM book_embeddings
WHERE book_id = ANY($1) AND end_offset <= $2 AND chunk_index IS NOT NULL

-- name: nearest_passages
-- The $3 passages of the books $1 nearest the question's vector $2, nearest first: a
-- passage ranked by its closest window, its own vector standing in for books indexed
-- before windows existed. The ranking is exact: within a reader's books a scan is fast,
-- and an approximate index would miss passages under the book filter. Only the $3 * 8
-- closest windows are grouped: a passage of at most 250 words has four windows, so these
-- hold the $3 closest passages, exactly. Ties go to the smaller id.
-- The windows are ranked in a query of their own, with its own ORDER BY and LIMIT, so
-- that PostgreSQL may scan them in parallel (a third less time across a large library on
-- an idle machine); the older books' branch stays inside the union, where it cannot be
-- ranked through the HNSW index of book_embeddings, whose search would drop passages
-- under the book filter.
-- $4 keeps only passages ending at or before an offset (spoiler safety), or all.
WITH windows AS MATERIALIZED (
    SELECT w.passage_id, w.embedding <=> $2 AS distance
    FROM passage_windows w
    WHERE w.book_id = ANY($1)
      AND ($4::int IS NULL OR w.passage_id IN (
          SELECT e.id FROM book_embeddings e
          WHERE e.book_id = ANY($1) AND e.end_offset <= $4))
    ORDER BY distance, w.passage_id
    LIMIT $3 * 8
), vec AS MATERIALIZED (
    SELECT passage_id AS id, row_number() OVER (ORDER BY min(distance), passage_id) AS rank
    FROM (
        SELECT * FROM (
            SELECT * FROM windows
            UNION ALL
            SELECT e.id, e.embedding <=> $2 FROM book_embeddings e
            WHERE e.book_id = ANY(ARRAY(SELECT b.id FROM books b
                                        WHERE b.id = ANY($1) AND b.index_version = 1))
              AND ($4::int IS NULL OR e.end_offset <= $4)
        ) scored
        ORDER BY distance, passage_id
        LIMIT $3 * 8
    ) nearest
    GROUP BY passage_id
    ORDER BY rank
    LIMIT $3
)
SELECT e.book_id, e.chunk_index
FROM vec v JOIN book_embeddings e ON e.id = v.id
WHERE e.chunk_index IS NOT NULL
ORDER BY v.rank

-- name: passages_at
-- The passages ($1[i], $2[i]) as a search hit shows them, in no particular order.
SELECT e.id AS chunk_id, e.book_id, e.chunk_index, e.chunk_title AS chapter_title,
       c.chapter_number, e.start_page, e.end_page, e.start_offset, e.end_offset,
       e.content AS text
FROM unnest($1::uuid[], $2::int[]) AS wanted (book_id, chunk_index)
JOIN book_embeddings e USING (book_id, chunk_index)
LEFT JOIN book_chapters c ON c.id = e.book_chapter_id

-- name: reuse_source
-- An ingested book made from the very same file (any owner: the text, passages and
-- vectors derive from the bytes alone, and nothing of the other reader comes along -- the
-- title and author are the file's own, not what its owner renamed it to).
SELECT b.id, b.file_title, b.file_author, b.file_facts, b.page_count, b.word_count,
       b.reading_time_minutes, b.difficulty_level, b.cover_image_url, b.topics, b.key_concepts,
       b.ai_summary
FROM books b
WHERE b.file_sha256 = $1 AND b.id <> $2 AND b.processing_status = 'completed'
  AND b.deleted_at IS NULL
  AND b.file_metadata_known
  AND b.file_facts <> '{}'  -- its edition facts were read (not before migration 0027)
  AND cardinality(b.warnings) = 0  -- read again: this server may read more of it now
  AND b.index_version = $3  -- not one waiting to be re-indexed
  AND EXISTS (SELECT 1 FROM book_embeddings e WHERE e.book_id = b.id)
ORDER BY b.processing_completed_at
LIMIT 1

-- name: copy_chapters
INSERT INTO book_chapters (book_id, chapter_number, title, content, start_page, end_page,
                           start_offset, end_offset, word_count, character_count, ai_summary,
                           key_points, source_index)
SELECT $1, chapter_number, title, content, start_page, end_page, start_offset, end_offset,
       word_count, character_count, ai_summary, key_points, source_index
FROM book_chapters WHERE book_id = $2

-- name: copy_passages
INSERT INTO book_embeddings (book_id, book_chapter_id, content, chunk_index, start_page,
                             end_page, start_offset, end_offset, word_count, chunk_title,
                             embedding, metadata, importance_score, topics, content_type,
                             embedding_model, embedded_at)
SELECT $1, nc.id, e.content, e.chunk_index, e.start_page, e.end_page, e.start_offset,
       e.end_offset, e.word_count, e.chunk_title, e.embedding, e.metadata, e.importance_score,
       e.topics, e.content_type, e.embedding_model, e.embedded_at
FROM book_embeddings e
JOIN book_chapters oc ON oc.id = e.book_chapter_id
JOIN book_chapters nc ON nc.book_id = $1 AND nc.chapter_number = oc.chapter_number
WHERE e.book_id = $2

-- name: copy_windows
INSERT INTO passage_windows (passage_id, book_id, embedding)
SELECT ne.id, $1, w.embedding
FROM passage_windows w
JOIN book_embeddings oe ON oe.id = w.passage_id
JOIN book_embeddings ne ON ne.book_id = $1 AND ne.chunk_index = oe.chunk_index
WHERE w.book_id = $2

-- name: store_terms
-- The book's postings, made again from its passages (migration 0034).
SELECT store_book_terms($1)

-- name: next_book_without_terms
-- A completed book with passages but no postings: its passages were written by code
-- older than migration 0034 (a worker of the previous release, during a deploy).
SELECT b.id FROM books b
WHERE b.processing_status = 'completed' AND b.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM book_term_totals t WHERE t.book_id = b.id)
  AND EXISTS (SELECT 1 FROM book_embeddings e
              WHERE e.book_id = b.id AND e.chunk_index IS NOT NULL)
LIMIT 1

-- name: library_books
-- What a search across "my books" covers: the reader's own books and the public books
-- they have opened, ingested and not deleted; the most recently read first when there
-- are more than $2.
SELECT b.id, b.title, b.author
FROM books b
LEFT JOIN reading_progress p ON p.book_id = b.id AND p.user_id = $1
WHERE b.deleted_at IS NULL AND b.processing_status = 'completed'
  AND (b.user_id = $1 OR (b.visibility = 'public' AND p.user_id IS NOT NULL))
ORDER BY p.last_read_at DESC NULLS LAST, b.created_at DESC
LIMIT $2

-- name: next_stale_book
-- The next book whose search index was built under an older INDEX_VERSION ($1), oldest
-- first, leaving out those that failed in this run ($2).
SELECT id FROM books
WHERE index_version < $1 AND processing_status = 'completed' AND deleted_at IS NULL
  AND NOT (id = ANY($2::uuid[]))
ORDER BY created_at
LIMIT 1

-- name: count_stale_books
SELECT count(*) FROM books
WHERE index_version < $1 AND processing_status = 'completed' AND deleted_at IS NULL

-- name: index_chapters
SELECT id, chapter_number, title, content, start_offset, end_offset,
       coalesce(start_page, 1) AS start_page, coalesce(end_page, start_page, 1) AS end_page
FROM book_chapters WHERE book_id = $1 ORDER BY chapter_number

-- name: still_stale
-- Whether the book still needs re-indexing (asked under the book's lock): a book
-- re-ingested or reused meanwhile went through 'processing' and has a current index.
SELECT EXISTS (
    SELECT 1 FROM books
    WHERE id = $1 AND index_version < $2 AND processing_status = 'completed'
      AND deleted_at IS NULL
)

-- name: delete_passages
DELETE FROM book_embeddings WHERE book_id = $1

-- name: set_index_version
UPDATE books SET index_version = $2 WHERE id = $1

-- name: books_without_document_id
-- Books stored before KOReader's document id was computed at upload (migration 0022)
SELECT id, file_path FROM books
WHERE partial_md5 IS NULL AND file_path IS NOT NULL AND deleted_at IS NULL
ORDER BY created_at
LIMIT $1

-- name: set_document_id
UPDATE books SET partial_md5 = $2 WHERE id = $1
