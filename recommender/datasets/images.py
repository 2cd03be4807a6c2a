"""Checks of an image folder's files before anything is trained on them."""

from __future__ import annotations

import math
from pathlib import Path

from recommender.errors import DatasetError


def check_images(folder: Path, paths: list[str]) -> None:
    """Refuse a folder with an image file that cannot be opened, naming the file.

    Only headers are read here; a file damaged past its header fails when it is loaded.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    bad: list[str] = []
    for file in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(file) as img:
                    pixels: float = img.size[0] * img.size[1]  # the header must parse
        except Image.DecompressionBombError:
            pixels = math.inf  # over twice PIL's limit
        except (OSError, UnidentifiedImageError, ValueError):
            bad.append(file)
            continue
        if pixels > (Image.MAX_IMAGE_PIXELS or math.inf):
            raise DatasetError(
                f"{file}: expected an image of at most {Image.MAX_IMAGE_PIXELS:,} pixels "
                "(a guard against decompression bombs), got more; shrink or remove it"
            )
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise DatasetError(
            f"{folder}: expected readable PNG/JPEG images, got an unreadable file {bad[0]}"
            f"{more}; remove or replace it"
        )
