"""Meta-features of a text dataset: document lengths, vocabulary and classes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.datasets.loading import Dataset
from recommender.metafeatures.prepare import (
    PreparedTable,
    canonical_subsample,
    nominal_codes,
    series_hashes,
)
from recommender.metafeatures.tabular import class_features, target_features

MAX_VOCAB_DOCS = 20_000  # documents tokenised for the vocabulary features
_TOKEN = r"\w+"


def text_features(dataset: Dataset, *, seed: int = 0, notes: list[str]) -> dict[str, float]:
    """Length, vocabulary and class features of a text dataset (column ``"text"``).

    Args:
        dataset: a text dataset.
        seed: seed of the document sample used for the vocabulary.
        notes: receives a sentence when the vocabulary was computed on a sample.

    Returns:
        Feature name -> value.
    """
    text = dataset.X["text"].astype("string").fillna("")
    chars = text.str.len().to_numpy(dtype=np.float64)
    tokens = text.str.count(_TOKEN).to_numpy(dtype=np.float64)
    out = {
        "NumberOfInstances": float(dataset.n_rows_total or len(text)),
        "TextMeanChars": float(chars.mean()),
        "TextMedianChars": float(np.median(chars)),
        "TextMaxChars": float(chars.max()),
        "TextStdChars": float(chars.std(ddof=1)) if len(chars) > 1 else float("nan"),
        "TextMeanTokens": float(tokens.mean()),
        "TextMedianTokens": float(np.median(tokens)),
        "TextMaxTokens": float(tokens.max()),
        "TextEmptyFraction": float((chars == 0).mean()),
    }
    out.update(_vocabulary(text, seed, notes))
    out.update(target_block(dataset))
    return out


def _vocabulary(text: pd.Series, seed: int, notes: list[str]) -> dict[str, float]:
    if len(text) > MAX_VOCAB_DOCS:
        hashes = series_hashes(text, seed)
        idx = canonical_subsample(hashes, MAX_VOCAB_DOCS)
        text = text.iloc[np.sort(idx)]
        notes.append(f"text vocabulary: computed on a seeded {MAX_VOCAB_DOCS}-document sample")
    words = text.str.lower().str.findall(_TOKEN).explode().dropna()
    n_tokens = len(words)
    vocab = int(words.nunique())
    return {
        "TextVocabularySize": float(vocab),
        "TextTypeTokenRatio": vocab / n_tokens if n_tokens else float("nan"),
    }


def target_block(dataset: Dataset) -> dict[str, float]:
    """Class (or regression target) features shared by the image and text groups."""
    n = len(dataset.y)
    y_codes, n_classes = (None, 0)
    y_float = None
    if dataset.problem_type == "regression":
        y_float = dataset.y.to_numpy(dtype=np.float64)
    else:
        y_codes, n_classes = nominal_codes(dataset.y)
    table = PreparedTable(
        numeric_columns=[],
        numeric_names=[],
        nominal=np.empty((n, 0), dtype=np.int64),
        nominal_levels=np.empty(0, dtype=np.int64),
        nominal_names=[],
        y_codes=y_codes,
        y_float=y_float,
        n_classes=n_classes,
        scale=(dataset.n_rows_total or n) / n,
        n_rows=n,
    )
    out = {"NumberOfClasses": float(n_classes)}
    shared = class_features(table)
    for name in ("MajorityClassPercentage", "MinorityClassPercentage", "ClassEntropy"):
        out[name] = shared[name]
    if y_float is not None:
        out.update(target_features(table))
    return out
