"""Reading tables from text files: encodings, CSV rows with their line numbers, bad files."""

from __future__ import annotations

import io
import zipfile

import pytest

from geo.errors import TableFileError
from geo.tables import CsvTable, csv_records, read_text, text_encoding

TEXT = "name,lon,lat\n河西区 友谊路,117.2,39.1\n"

# (bytes of the file, encoding named or None, encoding found), one commented row per case
ENCODINGS = [
    (TEXT.encode("utf-8"), None, "utf-8"),  # plain UTF-8
    (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), None, "utf-8-sig"),  # UTF-8 with BOM (Excel)
    (TEXT.encode("gbk"), None, "gb18030"),  # GBK, what a Chinese office's Excel writes
    (TEXT.encode("gb18030"), None, "gb18030"),  # GB 18030 itself
    (b"name,lon,lat\nCaf\xe9,1,2\n", "latin-1", "iso8859-1"),  # Latin-1, named
    (TEXT.encode("gbk"), "gbk", "gbk"),  # GBK, named
    (b"name,lon,lat\n", None, "utf-8"),  # ASCII is UTF-8
]


@pytest.mark.parametrize(("raw", "named", "found"), ENCODINGS)
def test_encodings_found_or_named(tmp_path, raw, named, found):
    path = tmp_path / "in.csv"
    path.write_bytes(raw)
    assert text_encoding(path, named) == found
    text, encoding = read_text(path, named)
    assert encoding == found
    assert not text.startswith("\ufeff")  # the BOM is no part of the first column's name
    assert text.startswith("name,lon,lat")


# (bytes of the file or None for no file, encoding named, what the message says)
UNREADABLE = [
    (None, None, "does not exist"),  # no such file
    (b"name,lon,lat\nCaf\xe9,1,2\n", None, "neither UTF-8 nor GB 18030"),  # Latin-1, not named
    (b"a,b\n1,2\n3,\xff\n", "utf-8", "line 3 is not utf-8 text"),  # the bad byte's line
    (b"a,b\n", "klingon", "unknown encoding 'klingon'"),  # no such encoding
    ("xlsx", None, "ZIP file (an Excel workbook?)"),  # an .xlsx renamed .csv
]


@pytest.mark.parametrize(("raw", "named", "message"), UNREADABLE)
def test_unreadable_files_say_why(tmp_path, raw, named, message):
    path = tmp_path / "in.csv"
    if raw == "xlsx":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("xl/workbook.xml", "<workbook/>")
    elif raw is not None:
        path.write_bytes(raw)
    with pytest.raises(TableFileError) as info:
        text_encoding(path, named)
    assert message in info.value.message
    assert info.value.allowed


def test_a_folder_is_not_a_table(tmp_path):
    with pytest.raises(TableFileError, match="is a folder"):
        text_encoding(tmp_path)


def test_records_keep_the_line_each_row_starts_on():
    text = 'id,note\n1,"two\nlines"\n\n2,ok\n3,a,b\n4\n5,"unterminated\n'
    records = list(csv_records(io.StringIO(text, newline="")))
    assert [(r.line, r.fields, r.problem) for r in records] == [
        (1, ["id", "note"], ""),
        (2, ["1", "two\nlines"], ""),  # a quoted value over two lines: the row starts on 2
        (5, ["2", "ok"], ""),  # line 4 is blank: skipped, not a row
        (6, ["3", "a", "b"], "has 3 field(s); the header has 2"),  # one field too many
        (7, ["4"], "has 1 field(s); the header has 2"),  # one too few
        (8, ["5", "unterminated\n"], ""),  # the csv module closes the quote at the end
    ]


def test_a_row_that_is_not_csv_is_named_and_reading_goes_on():
    text = 'a,b\n1,2\n3,"x"y"\n4,5\n'
    records = list(csv_records(io.StringIO(text, newline="")))
    assert [(r.line, r.fields) for r in records] == [
        (1, ["a", "b"]),
        (2, ["1", "2"]),
        (3, ["3", 'xy"']),
        (4, ["4", "5"]),
    ]


def test_csv_error_is_a_problem_of_its_row():
    text = f"a,b\n1,2\n3,{'x' * 200_000}\n4,5\n"  # a field beyond the csv module's limit
    records = list(csv_records(io.StringIO(text, newline="")))
    assert [r.line for r in records] == [1, 2, 3, 4]
    assert records[2].fields == [] and "not valid CSV" in records[2].problem
    assert records[3].fields == ["4", "5"] and records[3].problem == ""


def test_table_chunks_are_as_wide_as_the_header(tmp_path):
    path = tmp_path / "points.csv"
    path.write_bytes(
        "\ufeff,lon,lat\na,117.2,39.1\nb,117.2,39.1,extra\nc,117.2\nd,1,2\n".encode("utf-8")
    )
    with CsvTable(path) as table:
        chunks = list(table.chunks(2))
    assert table.header == ["", "lon", "lat"]  # a blank name stays blank; the BOM is gone
    assert table.encoding == "utf-8-sig"
    assert [c.lines for c in chunks] == [[2, 3], [4, 5]]
    rows = [row for c in chunks for row in c.rows]
    assert rows == [
        ["a", "117.2", "39.1"],
        ["b", "117.2", "39.1"],  # cut to the header's width
        ["c", "117.2", ""],  # padded
        ["d", "1", "2"],
    ]
    problems = [p for c in chunks for p in c.problems]
    assert problems == [
        "",
        "has 4 field(s); the header has 3",
        "has 2 field(s); the header has 3",
        "",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),  # no bytes at all
        ("\n\n", "is empty"),  # blank lines only
    ],
)
def test_table_without_header(tmp_path, text, message):
    path = tmp_path / "in.csv"
    path.write_text(text)
    with pytest.raises(TableFileError, match=message):
        CsvTable(path)
