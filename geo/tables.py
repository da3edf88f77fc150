"""Tables in text files: which encoding a file is in, and its CSV rows with their line numbers.

Chinese government offices export CSV files in GB 18030 (or its subset GBK: what Excel writes
for Chinese), others write UTF-8 with or without a byte-order mark. A file is read in the
encoding named, else UTF-8 (BOM or not), else GB 18030; anything else (Latin-1, Big5...) must
be named. Every row keeps the line it starts on (a quoted value may span lines), so that every
message about a row can name it. Used by ``wangge assign`` and by the planning imports.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from geo.errors import TableFileError

#: Encodings tried, in order, when none is named ("utf-8-sig" reads UTF-8 with or without BOM).
DETECTED = ("utf-8-sig", "gb18030")
ALLOWED_ENCODINGS = (
    "UTF-8 (with or without BOM) or GB 18030/GBK, found by themselves; any other encoding "
    "named (e.g. --encoding latin-1, big5, cp1252)"
)
_BLOCK = 1 << 20


def _blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            yield block


def _undecodable_at(blocks: Iterable[bytes], encoding: str) -> int | None:
    """The byte offset of the first byte that does not decode, None if everything does."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    for block in blocks:
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            return offset + exc.start
        offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset
    return None


def _line_at(blocks: Iterable[bytes], offset: int) -> int:
    """The line (from 1) the byte at ``offset`` is on."""
    seen, newlines = 0, 0
    for block in blocks:
        part = block[: max(offset - seen, 0)]
        newlines += part.count(b"\n")
        seen += len(block)
        if seen >= offset:
            break
    return newlines + 1


def text_encoding(path: str | Path, encoding: str | None = None) -> str:
    """The encoding to read a text file in: the one named, else UTF-8, else GB 18030.

    The whole file is checked (block by block, in constant memory), so that reading it later
    cannot fail half-way.

    Parameters
    ----------
    path : str or Path
    encoding : str, optional
        An encoding Python knows (``latin-1``, ``gbk``, ``big5``...), checked against the file.

    Returns
    -------
    str
        ``utf-8-sig`` when the file starts with a byte-order mark, ``utf-8``, ``gb18030``, or
        the encoding named.

    Raises
    ------
    TableFileError
        The file is missing, a folder, unreadable, an Excel workbook, not in the encoding named
        (with the line of the first bad byte), or in neither UTF-8 nor GB 18030.

    Example
    -------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "gbk.csv"
    >>> _ = path.write_bytes("name,lon,lat\\n河西区,117.2,39.1\\n".encode("gbk"))
    >>> text_encoding(path)
    'gb18030'
    >>> text_encoding(path, "utf-8")
    Traceback (most recent call last):
    ...
    geo.errors.TableFileError: gbk.csv line 2 is not utf-8 text (byte 13)
    """
    target = Path(path)
    if not target.exists():
        raise TableFileError(f"{target} does not exist", allowed="a CSV file")
    if target.is_dir():
        raise TableFileError(f"{target} is a folder, not a file", allowed="a CSV file")
    try:
        with target.open("rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise TableFileError(
            f"cannot read {target}: {exc.strerror}", allowed="a readable file"
        ) from None
    if head.startswith(b"PK\x03\x04"):
        raise TableFileError(
            f"{target.name} is a ZIP file (an Excel workbook?), not CSV text",
            allowed="a CSV file: in Excel, save as 'CSV UTF-8' or 'CSV'",
        )
    if encoding is not None:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise TableFileError(
                f"unknown encoding {encoding!r}", allowed=ALLOWED_ENCODINGS
            ) from None
        bad = _undecodable_at(_blocks(target), name)
        if bad is not None:
            raise TableFileError(
                f"{target.name} line {_line_at(_blocks(target), bad)} is not {encoding} text "
                f"(byte {bad})",
                allowed=ALLOWED_ENCODINGS,
                code="undecodable_text",
            )
        return "utf-8-sig" if name == "utf-8" and head.startswith(codecs.BOM_UTF8) else name
    for candidate in DETECTED:
        if _undecodable_at(_blocks(target), candidate) is None:
            if candidate == "utf-8-sig":
                return candidate if head.startswith(codecs.BOM_UTF8) else "utf-8"
            return candidate
    raise TableFileError(
        f"{target.name} is neither UTF-8 nor GB 18030 text",
        allowed=ALLOWED_ENCODINGS,
        code="undecodable_text",
    )


def read_text(path: str | Path, encoding: str | None = None) -> tuple[str, str]:
    """The whole text of a file and its encoding (see :func:`text_encoding`).

    Example
    -------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "bom.csv"
    >>> _ = path.write_bytes("\\ufeffcode,residents\\nA,10\\n".encode("utf-8"))
    >>> read_text(path)
    ('code,residents\\nA,10\\n', 'utf-8-sig')
    """
    found = text_encoding(path, encoding)
    try:
        return Path(path).read_bytes().decode(found), found
    except OSError as exc:
        raise TableFileError(
            f"cannot read {path}: {exc.strerror}", allowed="a readable file"
        ) from None


@dataclass(frozen=True)
class CsvRecord:
    """One row of a CSV file: the line it starts on, its fields, and what is wrong with it.

    ``problem`` is "" for a good row; for a row that is not valid CSV (``fields`` then empty),
    or whose number of fields differs from the header's, it says so.
    """

    line: int
    fields: list[str]
    problem: str = ""


def csv_records(lines: Iterable[str]) -> Iterator[CsvRecord]:
    """The header and rows of CSV text, each with the line it starts on; blank lines skipped.

    The first record is the header; a row with another number of fields than the header gets
    a ``problem``.

    Parameters
    ----------
    lines : iterable of str
        The text, e.g. an open file (``newline=""``) or ``io.StringIO``.

    Example
    -------
    >>> import io
    >>> text = 'id,note\\n1,"two\\nlines"\\n\\n2,a,b\\n'
    >>> [(r.line, r.fields, r.problem) for r in csv_records(io.StringIO(text))][1:]
    [(2, ['1', 'two\\nlines'], ''), (5, ['2', 'a', 'b'], 'has 3 field(s); the header has 2')]
    """
    reader = csv.reader(lines)
    start = 1
    width: int | None = None
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield CsvRecord(start, [], f"not valid CSV: {exc}")
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not fields or all(not f.strip() for f in fields):
            continue  # blank lines are not rows
        problem = ""
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            problem = f"has {len(fields)} field(s); the header has {width}"
        yield CsvRecord(line, fields, problem)


@dataclass
class CsvChunk:
    """Consecutive rows of a :class:`CsvTable`, each exactly as wide as the header."""

    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    #: Why each row is not as the header says ("" where it is): its fields were cut or padded.
    problems: list[str] = field(default_factory=list)


class CsvTable:
    """A CSV file open for reading in chunks of rows, with its header and encoding.

    Rows with more fields than the header are cut to its width, rows with fewer are padded
    with "", and rows that are not valid CSV come as empty fields: each with its problem, so
    that a caller can keep it as a bad row. Use as a context manager.

    Example
    -------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "points.csv"
    >>> _ = path.write_text(",lon,lat\\na,117.2,39.1\\nb,117.2,39.1,extra\\n")
    >>> with CsvTable(path) as table:
    ...     [chunk] = table.chunks(1000)
    >>> table.header, chunk.rows[1], chunk.lines, chunk.problems[1]
    (['', 'lon', 'lat'], ['b', '117.2', '39.1'], [2, 3], 'has 4 field(s); the header has 3')
    """

    def __init__(self, path: str | Path, *, encoding: str | None = None) -> None:
        self.path = Path(path)
        self.encoding = text_encoding(self.path, encoding)
        self._file = io.TextIOWrapper(self.path.open("rb"), encoding=self.encoding, newline="")
        self._records: Iterator[CsvRecord] = csv_records(self._file)
        first = next(self._records, None)
        if first is None:
            self._file.close()
            raise TableFileError(
                f"{self.path.name} is empty: it has no header line", allowed="a CSV file"
            )
        if not first.fields:  # not valid CSV
            self._file.close()
            raise TableFileError(
                f"{self.path.name} line {first.line} (the header) is {first.problem}",
                allowed="a CSV file",
            )
        #: The column names as written (a blank name stays blank).
        self.header: list[str] = first.fields
        self.header_line = first.line
        #: The line the last row read starts on.
        self.line = first.line

    def chunks(self, size: int) -> Iterator[CsvChunk]:
        """The rows in chunks of ``size`` (the last may be shorter)."""
        width = len(self.header)
        chunk = CsvChunk()
        for record in self._records:
            line = record.line
            fields = record.fields[:width] + [""] * (width - len(record.fields))
            chunk.rows.append(fields)
            chunk.lines.append(line)
            chunk.problems.append(record.problem)
            self.line = line
            if len(chunk.rows) >= size:
                yield chunk
                chunk = CsvChunk()
        if chunk.rows:
            yield chunk

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return self.path.stat().st_size

    @property
    def bytes_read(self) -> int:
        """How far into the file reading has come, in bytes (for progress bars)."""
        return self._file.buffer.tell()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CsvTable:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
