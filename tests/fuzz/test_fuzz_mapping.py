"""Fuzz mapping files (JSON and TOML) given to ``recommender ingest --mapping``."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import fuzz_examples
from tests.fuzz.helpers import check_ingest, workdir

pytestmark = pytest.mark.fuzz

TABLE = "dataset,lr,depth,acc,state,trial\niris,0.1,3,0.9,ok,1\niris,x,4,0.8,failed,2\n"
COLUMNS = ["dataset", "lr", "depth", "acc", "state", "trial", "missing", "", "_line"]
KEYS = ["task", "params", "metrics", "param_prefix", "metric_prefix", "run_id", "fidelity",
        "status", "duration_s", "error", "junk"]  # fmt: skip
scalar = st.one_of(st.sampled_from(COLUMNS), st.integers(), st.none(), st.booleans(),
                   st.text(max_size=5))  # fmt: skip
value = st.one_of(
    scalar,
    st.dictionaries(st.sampled_from(["column", "value", "lr", "acc", ""]), scalar, max_size=2),
    st.lists(scalar, max_size=2),
)
mapping = st.dictionaries(st.sampled_from(KEYS), value, max_size=6)


def _toml(obj: dict) -> str:
    lines = []
    for k, v in obj.items():
        if isinstance(v, dict):
            lines.append(f"[{k}]")
            lines += [
                f"{json.dumps(kk)} = {json.dumps(vv)}" for kk, vv in v.items() if vv is not None
            ]
        elif v is not None:
            lines.insert(0, f"{k} = {json.dumps(v)}")
    return "\n".join(lines) + "\n"


@settings(max_examples=fuzz_examples(12))
@given(obj=mapping, toml=st.booleans(), junk=st.none() | st.text(max_size=30))
@example(obj={"task": {"column": "dataset"}, "params": {"lr": "lr", "depth": "depth"},
              "metrics": {"acc": "acc"}, "status": "state", "run_id": "trial"},
         toml=False, junk=None)  # fmt: skip
@example(obj={"task": "dataset", "params": {"lr": "lr", "depth": "lr"}, "metrics": {"acc": "acc"}},
         toml=True, junk=None)  # fmt: skip
@example(obj={"task": "dataset", "params": {"a": "lr"}, "param_prefix": "l",
              "metrics": {"acc": "acc"}}, toml=False, junk=None)  # fmt: skip
@example(obj={"params": ["lr"]}, toml=False, junk=None)
@example(obj={"param_prefix": 1}, toml=False, junk=None)
@example(obj={}, toml=True, junk="[[[ not toml")
def test_mapping(obj: dict, toml: bool, junk: str | None) -> None:
    with workdir() as work:
        table = work / "runs.csv"
        table.write_text(TABLE)
        path = work / ("map.toml" if toml else "map.json")
        text = junk if junk is not None else (_toml(obj) if toml else json.dumps(obj))
        path.write_text(text, encoding="utf-8")
        check_ingest(work, table, "--mapping", str(path), rows=2)
