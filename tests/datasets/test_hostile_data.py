"""Hostile data given to describe, recommend and tune: an image past PIL's pixel limit, a
DataFrame with two columns of one name. One line each, and no store is written."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import recommender
from recommender.cli import cli
from recommender.errors import DatasetError


def png_header(width: int, height: int) -> bytes:
    """A PNG that says it is ``width`` x ``height`` (its pixels are never there)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def image_folder(tmp_path: Path, width: int, height: int) -> Path:
    folder = tmp_path / "images"
    for label in ("cat", "dog"):
        (folder / label).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(folder / label / f"{i}.png")
    (folder / "dog" / "huge.png").write_bytes(png_header(width, height))
    return folder


@pytest.mark.parametrize(
    "size", [(20_000, 20_000), (15_000, 15_000)], ids=["over twice the limit", "over the limit"]
)
@pytest.mark.parametrize(
    "command",
    [
        ["describe", "{folder}"],
        ["recommend", "--dataset", "{folder}"],
        ["tune", "--dataset", "{folder}", "--budget", "1", "--epochs", "1"],
    ],
    ids=["describe", "recommend", "tune"],
)
def test_an_image_past_the_pixel_limit_is_one_line(
    tmp_path: Path, size: tuple[int, int], command: list[str]
) -> None:
    folder = image_folder(tmp_path, *size)
    db = tmp_path / "s.duckdb"
    args = [a.format(folder=folder) for a in command] + ["--db", str(db)]
    if command[0] == "describe":
        args += ["--save"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"Error: {folder / 'dog' / 'huge.png'}: expected an image of at most "
        f"{Image.MAX_IMAGE_PIXELS:,} pixels (a guard against decompression bombs), got more; "
        "shrink or remove it"
    ]
    assert not db.exists()


def _duplicated() -> pd.DataFrame:
    frame = pd.DataFrame([[i, i % 3, i % 2] for i in range(20)], columns=["a", "a", "y"])
    return frame


@pytest.mark.parametrize(
    "call",
    [
        lambda f, db: recommender.describe(f, target="y"),
        lambda f, db: recommender.api.describe_result(f, "y", save=True, db=db),
        lambda f, db: recommender.recommend(f, target="y", db=db),
        lambda f, db: recommender.api.tune(f, "y", budget=1, epochs=1, db=db),
    ],
    ids=["describe", "describe --save", "recommend", "tune"],
)
def test_a_dataframe_with_duplicate_column_names_is_one_line(tmp_path: Path, call: Any) -> None:
    db = tmp_path / "s.duckdb"
    with pytest.raises(DatasetError) as err:
        call(_duplicated(), db)
    assert str(err.value) == (
        "DataFrame: expected unique column names, got 'a' 2 times; rename or drop the repeats"
    )
    assert not db.exists()
