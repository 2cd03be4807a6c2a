"""Text files as plain UTF-8: decompress gzip, honour a byte-order mark or a named encoding.

The CSV and JSON Lines parsers need UTF-8. A file that is not (random bytes, UTF-16
without its name, Latin-1) is refused whole with one line that says how to name its
encoding, before any parser sees it.
"""

from __future__ import annotations

import codecs
import gzip
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast

from recommender.errors import IngestError, option

_BLOCK = 1 << 22
_GZIP_MAGIC = b"\x1f\x8b"
# UTF-32 before UTF-16: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _open(path: Path) -> tuple[IO[bytes], bool]:
    fh = path.open("rb")
    gz = fh.read(2) == _GZIP_MAGIC
    fh.seek(0)
    if gz:
        return cast(IO[bytes], gzip.GzipFile(fileobj=fh, mode="rb")), True
    return fh, False


def _bom_encoding(head: bytes) -> str | None:
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


@contextmanager
def plain_text(path: Path, encoding: str | None = None, *, what: str = "text") -> Iterator[Path]:
    """Yield a path to ``path``'s text as plain UTF-8 (``path`` itself when it already is).

    Raises:
        IngestError: unknown encoding, a corrupt gzip stream, or bytes that are not text
            in the encoding; the message says how to name the right one.
    """
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError as err:
            raise IngestError(
                f"unknown encoding {encoding!r}; expected a Python codec name such as utf-8, "
                "utf-16, latin-1 or cp1252"
            ) from err
    try:
        fh, gz = _open(path)
        with fh:
            head = fh.read(4)
            fh.seek(0)
            enc = encoding or _bom_encoding(head)
            if enc in (None, "utf-8") and not gz:
                _check_utf8(fh, path, what)
                yield path
                return
            with tempfile.TemporaryDirectory(prefix="recommender-text-") as tmp:
                out = Path(tmp) / "plain.txt"
                _transcode(fh, out, enc or "utf-8", path, what, named=encoding is not None)
                yield out
    except (OSError, EOFError, zlib.error) as err:
        if isinstance(err, FileNotFoundError):
            raise IngestError(f"{path} not found; expected a {what} file") from err
        raise IngestError(
            f"{path}: cannot read as {what} ({_one_line(err)}); expected a plain or "
            "gzip-compressed text file; nothing from this file was stored"
        ) from err


def _check_utf8(fh: IO[bytes], path: Path, what: str) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    while True:
        block = fh.read(_BLOCK)
        try:
            decoder.decode(block, final=not block)
        except UnicodeDecodeError as err:
            at = offset + err.start - len(decoder.getstate()[0])
            _refuse_encoding(path, what, "utf-8", block[err.start : err.start + 1], at)
        if not block:
            return
        if b"\x00" in block:
            raise IngestError(
                f"{path}: expected {what} text, got NUL bytes (a binary file, or UTF-16/32 "
                "without a byte-order mark); name its encoding with "
                f"{option('encoding', 'utf-16')} or convert it to UTF-8; nothing from this file "
                "was stored"
            )
        offset += len(block)


def _transcode(fh: IO[bytes], out: Path, enc: str, path: Path, what: str, named: bool) -> None:
    decoder = codecs.getincrementaldecoder(enc)()
    offset = 0
    with out.open("w", encoding="utf-8", newline="") as dst:
        while True:
            block = fh.read(_BLOCK)
            try:
                dst.write(decoder.decode(block, final=not block))
            except UnicodeDecodeError as err:
                _refuse_encoding(path, what, enc, block[err.start : err.start + 1],
                                 offset + err.start, named)  # fmt: skip
            if not block:
                return
            offset += len(block)


def _refuse_encoding(
    path: Path, what: str, enc: str, byte: bytes, at: int, named: bool = False
) -> None:
    hint = (
        f"check the name given with {option('encoding')}"
        if named
        else f"name its encoding with {option('encoding')} (for example latin-1 or cp1252) "
        "or convert it to UTF-8"
    )
    raise IngestError(
        f"{path}: expected {what} text in {enc}, got byte 0x{byte.hex() or '??'} at offset "
        f"{max(at, 0)} that is not; {hint}; nothing from this file was stored"
    )


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__
