"""The printed recommendation table: fits 100 columns, and says when the picks are global."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from recommender.cli import cli
from recommender.knowledge.packs import shipped_dir
from recommender.spaces.builtin import BUILTIN_SPACES
from recommender.tables import format_table, wrap_items

FALLBACK = "No per-dataset signal: in cross-validation the model could not tell"
SHIPPED = [s for s, r in BUILTIN_SPACES.items() if (shipped_dir() / r.pack / "model").is_dir()]


def test_the_tabular_and_text_packs_ship() -> None:
    assert {"tabular_mlp", "text_finetune"} <= set(SHIPPED)


@pytest.mark.parametrize("space", SHIPPED)
def test_table_fits_100_columns_on_a_fresh_store(space: str, db_path: Path, tmp_path: Path) -> None:
    """Each shipped space, from one of its own tasks' meta-features, on a fresh store."""
    frame = pd.read_parquet(shipped_dir() / BUILTIN_SPACES[space].pack / "metafeatures.parquet")
    features = frame.drop(columns=["task", "problem_type"]).iloc[0].dropna().to_dict()
    mf = tmp_path / "mf.json"
    mf.write_text(json.dumps(features))
    args = ["recommend", "--metafeatures", str(mf), "--space", space]
    printed = CliRunner().invoke(cli, args)
    assert printed.exit_code == 0, printed.output
    lines = printed.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100, printed.stdout
    as_json = CliRunner().invoke(cli, [*args, "--json"])
    rows = json.loads(as_json.stdout)["recommendations"]
    assert len(rows) == 5 and all(r["explanation"]["similar_tasks"] for r in rows)
    rule = {r["explanation"]["rule"] for r in rows}
    assert len(rule) == 1
    assert (FALLBACK in " ".join(lines)) == (rule == {"portfolio"})
    # Each pick's row, then its config on indented lines: every value is printed.
    for r in rows:
        row = next(i for i, ln in enumerate(lines) if ln.startswith(f"{r['rank']}  "))
        below = " ".join(ln.strip() for ln in lines[row + 1 : row + 4] if ln.startswith(" "))
        assert all(f"{k}=" in below for k in r["config"])


def test_details_lines_sit_under_their_row() -> None:
    text = format_table([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], details=[["  one", "  two"], []])
    assert text.splitlines() == ["a  b", "-  -", "1  x", "  one", "  two", "2  y"]


def test_wrap_items_breaks_between_items_and_cuts_what_cannot_fit() -> None:
    assert wrap_items(["a=1,", "b=22,", "c=3"], width=9) == ["a=1,", "b=22, c=3"]
    assert wrap_items(["a=1,", "b=22,", "c=3"], width=100) == ["a=1, b=22, c=3"]
    assert wrap_items(["x" * 12, "y"], width=5) == ["xxxx…", "y"]
    assert wrap_items([], width=5) == []
