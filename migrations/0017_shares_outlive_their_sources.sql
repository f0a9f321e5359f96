-- A quote share belongs to the reader who made it and keeps a snapshot of its quote
-- (quote_text, author and book attribution): it outlives the highlight it was made from
-- and the book, whoever purges those, and so do the collections that hold it. Deleting
-- a highlight (its tombstone purge) or a book no longer deletes other readers' shares,
-- their /q/ pages or third parties' collection items.
ALTER TABLE quote_shares
    ALTER COLUMN highlight_id DROP NOT NULL,
    ALTER COLUMN book_id DROP NOT NULL,
    DROP CONSTRAINT quote_shares_highlight_id_fkey,
    DROP CONSTRAINT quote_shares_book_id_fkey,
    ADD CONSTRAINT quote_shares_highlight_id_fkey FOREIGN KEY (highlight_id)
        REFERENCES highlights (id) ON DELETE SET NULL,
    ADD CONSTRAINT quote_shares_book_id_fkey FOREIGN KEY (book_id)
        REFERENCES books (id) ON DELETE SET NULL;
