-- What ingestion could not read (pages without a usable text layer that OCR could not
-- read), in sentences for the reader: a book never loses text without saying so.
ALTER TABLE books ADD COLUMN warnings text[] NOT NULL DEFAULT '{}';
