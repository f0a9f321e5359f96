-- A book deleted by its owner while other readers have highlights, notes or AI
-- conversations on it is hidden from everyone (deleted_at set) and their data kept; it is
-- purged once nobody has data on it any more.
ALTER TABLE books ADD COLUMN deleted_at timestamptz;
CREATE INDEX index_books_on_deleted_at ON books (deleted_at) WHERE deleted_at IS NOT NULL;
