"""What a file is, from its bytes (never its name): pdf, epub, mobi or docx.

Zip-based formats are told apart by their central directory, read without inflating
anything and only once its end record says it is of a book's size, so neither a zip
bomb nor a directory of millions of entries costs anything here. Runs in a thread: it
is proportional to the upload."""

from __future__ import annotations

import io
import zipfile

from domain.books.zipguard import directory_within_limits

PDF_MAGIC = b"%PDF-"
MOBI_MAGIC = b"BOOKMOBI"  # PalmDB type + creator at offset 60
ZIP_MAGIC = b"PK\x03\x04"


def detect_type(data: bytes) -> str | None:
    """'pdf', 'epub', 'mobi', 'docx', or None for anything else."""
    if PDF_MAGIC in data[:1024]:
        return "pdf"
    if data[60:68] == MOBI_MAGIC:
        return "mobi"
    if data.startswith(ZIP_MAGIC):
        return _zip_kind(data)
    return None


def _zip_kind(data: bytes) -> str | None:
    if not directory_within_limits(data):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names and "[Content_Types].xml" in names:
                return "docx"
            if "META-INF/container.xml" in names:
                return "epub"
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if (
                    info.file_size < 100
                    and archive.read("mimetype").strip() == b"application/epub+zip"
                ):
                    return "epub"
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return None
