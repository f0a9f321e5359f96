-- Postings for BM25 (issue 14): each book's lexemes, each with the passages that hold it.
--
-- The search used to take the question's lexemes out of every passage's tsvector that
-- matched any of them: for a question with common words, most passages of every book
-- searched, each tsvector read from TOAST. Across a library of 50 books that took
-- p50 137 / p95 365 ms of the search; reading these rows instead takes 13 / 21 ms
-- (docs/benchmarks.md). A book's rows are made from its passages' tsvectors, so the
-- lexemes, their counts and the passages' lengths are exactly those the search used.
--
-- The arrays are packed big-endian integers (int4send / int2send), one entry per passage,
-- in chunk_index order: the server reads each with one numpy call, where an int[] makes a
-- Python int of every element (twice the time of the whole lexical half at 50 books).
CREATE TABLE book_terms (
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    lexeme text NOT NULL,
    chunks bytea NOT NULL,   -- int4: the chunk_index of each passage holding the lexeme
    tfs bytea NOT NULL,      -- int2: how often it occurs there (its positions, at least 1)
    lengths bytea NOT NULL,  -- int2: that passage's word count
    PRIMARY KEY (book_id, lexeme)
);

-- A book's passage count and their words, for BM25's N and average length.
CREATE TABLE book_term_totals (
    book_id uuid PRIMARY KEY REFERENCES books (id) ON DELETE CASCADE,
    passages integer NOT NULL,
    words bigint NOT NULL
);

-- (Re)builds one book's postings and totals from its stored passages: called wherever a
-- book's passages are written (workers/indexing.py), and below for the books stored
-- before this migration.
CREATE FUNCTION store_book_terms(book uuid) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM book_terms WHERE book_id = book;
    DELETE FROM book_term_totals WHERE book_id = book;
    INSERT INTO book_terms (book_id, lexeme, chunks, tfs, lengths)
    SELECT book, w.lexeme,
           string_agg(int4send(e.chunk_index), ''::bytea ORDER BY e.chunk_index),
           string_agg(int2send(least(coalesce(array_length(w.positions, 1), 1), 32767)::int2),
                      ''::bytea ORDER BY e.chunk_index),
           string_agg(int2send(least(coalesce(e.word_count, 0), 32767)::int2), ''::bytea
                      ORDER BY e.chunk_index)
    FROM book_embeddings e, unnest(e.tsv) w
    WHERE e.book_id = book AND e.chunk_index IS NOT NULL
    GROUP BY w.lexeme;
    INSERT INTO book_term_totals (book_id, passages, words)
    SELECT book, count(*), coalesce(sum(word_count), 0)
    FROM book_embeddings WHERE book_id = book AND chunk_index IS NOT NULL
    HAVING count(*) > 0;
$$;

SELECT store_book_terms(b.id) FROM books b
WHERE EXISTS (SELECT 1 FROM book_embeddings e WHERE e.book_id = b.id);
