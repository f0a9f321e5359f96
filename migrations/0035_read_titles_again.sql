-- MOBI books were read without their header's title, author, edition facts and cover
-- (PyMuPDF returns none of them; domain/books/mobi_header.py reads them now), and DOCX
-- files whose properties name no title without the Title paragraph that does. They stop
-- being sources for the same-file reuse, so the next upload of such a file is read
-- again instead of copying what was missed. The books themselves keep what they have:
-- their owners may have named them since.
UPDATE books SET file_metadata_known = false
WHERE file_metadata_known
  AND (file_type = 'mobi' OR (file_type = 'docx' AND file_title IS NULL));
