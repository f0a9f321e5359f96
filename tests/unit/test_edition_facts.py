from datetime import date

import pymupdf

from domain.books import isbn
from domain.books.facts import FileFacts, language, published, with_text_isbn
from domain.books.parse_paged import parse_paged

PRIDE = ("0141439513", "9780141439518")  # Penguin Classics' Pride and Prejudice


def test_either_form_of_an_isbn_gives_both() -> None:
    assert isbn.forms("978-0-14-143951-8") == PRIDE
    assert isbn.forms("0 14 143951 3") == PRIDE
    assert isbn.forms("urn:isbn:9780141439518") == PRIDE
    assert isbn.forms("080442957x") == ("080442957X", "9780804429573")


def test_a_979_isbn_has_no_ten_digit_form() -> None:
    assert isbn.forms("979-10-90636-07-1") == (None, "9791090636071")


def test_a_wrong_check_digit_or_length_is_no_isbn() -> None:
    for bad in ("9780141439519", "0141439514", "97801414395", "978014143951812", "", "isbn"):
        assert isbn.forms(bad) is None, bad


def test_the_isbn_a_copyright_page_names_is_found_and_checked() -> None:
    page = "Printed in the USA. ISBN 1-234-56789-0 (typo) ... ISBN-13: 978-0-14-143951-8"
    assert isbn.find(page) == PRIDE
    assert isbn.find("Call 0141439513 for details") is None  # a number without the word


def test_the_text_fills_the_isbn_only_when_the_file_named_none() -> None:
    text = "ISBN 9780141439518\n" + "words " * 10
    assert with_text_isbn(FileFacts(), text).isbn == PRIDE
    own = FileFacts(isbn=(None, "9791090636071"))
    assert with_text_isbn(own, text).isbn == (None, "9791090636071")


def test_publication_dates_in_the_forms_files_use() -> None:
    assert published("D:20030701120000+01'00'") == date(2003, 7, 1)
    assert published("2003") == date(2003, 1, 1)
    assert published("1998-06") == date(1998, 6, 1)
    assert published("2003-13-01") is None
    assert published("June 2003") is None
    assert published(None) is None


def test_languages_are_kept_only_as_tags() -> None:
    assert language("en_US") == "en-US"
    assert language("fr") == "fr"
    assert language("English") is None
    assert language("") is None


def test_columns_are_what_the_books_row_stores() -> None:
    facts = FileFacts(isbn=PRIDE, publisher="Penguin", published=date(2003, 1, 1))
    assert facts.columns() == {
        "isbn_10": "0141439513",
        "isbn_13": "9780141439518",
        "publisher": "Penguin",
        "published_date": "2003-01-01",
        "language": None,
    }


def test_a_pdfs_title_that_names_the_file_it_was_printed_from_is_not_its_title() -> None:
    def named(title: str, author: str) -> tuple[str | None, str | None]:
        doc = pymupdf.open()
        doc.new_page().insert_text((72, 72), "Some words of the document. " * 5)
        doc.set_metadata({"title": title, "author": author})
        book = parse_paged(doc.tobytes(), "pdf")
        return book.title, book.author

    assert named("Microsoft Word - thesis_final.docx", "jsmith") == (None, "jsmith")
    assert named("thesis_final.doc", "ARRAY(0x2c7cf020)") == (None, None)
    assert named("Untitled", "Unknown") == (None, None)
    assert named("A Title of Words", "Ada Lovelace") == ("A Title of Words", "Ada Lovelace")
    assert named("Notes on the .docx format", "x") == ("Notes on the .docx format", "x")
