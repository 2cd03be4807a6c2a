"""Meta-features of an image-folder dataset, from a seeded sample of images (Pillow)."""

from __future__ import annotations

import numpy as np

from recommender.datasets.loading import Dataset
from recommender.errors import DatasetError
from recommender.metafeatures.prepare import canonical_subsample, series_hashes
from recommender.metafeatures.text import target_block

MAX_IMAGES = 200  # images opened for the resolution and pixel features
_CHANNELS = {"1": 1, "L": 1, "P": 1, "I": 1, "F": 1, "LA": 2, "RGB": 3, "YCbCr": 3, "RGBA": 4}


def image_features(dataset: Dataset, *, seed: int = 0, notes: list[str]) -> dict[str, float]:
    """Size, resolution, channel, pixel-intensity and class features of an image dataset.

    Args:
        dataset: an image dataset (column ``"path"`` of image files).
        seed: seed of the image sample.
        notes: receives a sentence when only a sample of images was opened.

    Returns:
        Feature name -> value.

    Raises:
        DatasetError: Pillow is missing, or no sampled image could be read.
    """
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - Pillow ships with matplotlib/torch
        raise DatasetError(
            "image meta-features need Pillow, which is not installed; "
            "run: pip install 'recommender[image]'"
        ) from err
    paths = dataset.X["path"].astype(str)
    hashes = series_hashes(paths, seed)
    idx = canonical_subsample(hashes, MAX_IMAGES)
    if len(idx) < len(paths):
        notes.append(f"image: resolution and pixels from a seeded {len(idx)}-image sample")
    rows = [_read(Image, paths.iloc[i]) for i in idx]
    stats = np.array([r for r in rows if r is not None], dtype=np.float64)
    if stats.size == 0:
        raise DatasetError(
            f"{dataset.name}: none of {len(idx)} sampled images could be read; "
            "expected PNG or JPEG files"
        )
    if len(stats) < len(rows):
        notes.append(f"image: {len(rows) - len(stats)} sampled files were unreadable")
    out = _summarise(stats)
    out["NumberOfInstances"] = float(dataset.n_rows_total or len(paths))
    out.update(target_block(dataset))
    return out


def _read(image_module: object, path: str) -> tuple[float, ...] | None:
    """(width, height, channels, pixel mean, pixel std, pixel sum, sum of squares, n)."""
    try:
        with image_module.open(path) as img:  # type: ignore[attr-defined]
            width, height = img.size
            channels = _CHANNELS.get(img.mode, len(img.getbands()))
            img.thumbnail((128, 128))  # pixel statistics on a small copy: fast, bounded
            pixels = np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.float64)
    except (OSError, ValueError):
        return None
    pixels = pixels / 255.0
    return (
        width,
        height,
        channels,
        float(pixels.mean()),
        float(pixels.std()),
        float(pixels.sum()),
        float((pixels**2).sum()),
        float(pixels.size),
    )


def _summarise(stats: np.ndarray) -> dict[str, float]:
    width, height, channels = stats[:, 0], stats[:, 1], stats[:, 2]
    aspect = width / height
    total, squares, count = stats[:, 5].sum(), stats[:, 6].sum(), stats[:, 7].sum()
    mean = total / count
    return {
        "ImageMeanWidth": float(width.mean()),
        "ImageMinWidth": float(width.min()),
        "ImageMaxWidth": float(width.max()),
        "ImageMeanHeight": float(height.mean()),
        "ImageMinHeight": float(height.min()),
        "ImageMaxHeight": float(height.max()),
        "ImageMeanAspectRatio": float(aspect.mean()),
        "ImageStdAspectRatio": float(aspect.std(ddof=1)) if len(aspect) > 1 else float("nan"),
        "ImageMeanChannels": float(channels.mean()),
        "ImageGrayscaleFraction": float((channels == 1).mean()),
        "ImagePixelMean": float(mean),
        "ImagePixelStd": float(np.sqrt(max(squares / count - mean**2, 0.0))),
        "ImageMeanPixelStdPerImage": float(stats[:, 4].mean()),
    }
