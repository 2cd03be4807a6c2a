"""The knowledge that ships with recommender: real runs, meta-features and a surrogate.

``data/`` (reached through the package's ``shipped_data`` link) holds Parquet files
built by ``pipelines/collect`` and the surrogate trained on them. The first command
that needs knowledge about a shipped space in a store that has none loads them, once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from recommender.errors import ModelError
from recommender.store.duckdb import DuckDBStore

SHIPPED_SPACE = "tabular_mlp"
# Space -> file prefix of its pack in data/ (runs, curves, meta-features, model, registry).
PACKS = {"tabular_mlp": "", "text_finetune": "text_", "image_finetune": "image_"}
PACK_MODALITY = {"tabular_mlp": "tabular", "text_finetune": "text", "image_finetune": "image"}
SHIPPED_FORMAT = "shipped"
ENV_DIR = "RECOMMENDER_SHIPPED_DIR"


def shipped_dir() -> Path:
    """``$RECOMMENDER_SHIPPED_DIR``, else the package's ``shipped_data`` (the repo's ``data/``)."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here / "shipped_data", here.parent / "data"):
        if (candidate / "runs.parquet").exists():
            return candidate
    return here / "shipped_data"


def verify(directory: Path | None = None) -> list[str]:
    """Files whose sha256 differs from ``SHA256SUMS`` (missing files included)."""
    root = directory or shipped_dir()
    sums = root / "SHA256SUMS"
    if not sums.exists():
        return ["SHA256SUMS"]
    bad = []
    for line in sums.read_text().splitlines():
        if not line.strip():
            continue
        digest, name = line.split(maxsplit=1)
        path = root / name.strip()
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            bad.append(name.strip())
    return bad


def has_shipped(store: DuckDBStore, space: str = SHIPPED_SPACE) -> bool:
    row = store.con.execute(
        "SELECT count(*) FROM runs WHERE source = ? AND space = ?", [SHIPPED_FORMAT, space]
    ).fetchall()[0]
    return int(row[0]) > 0


def needs_shipped(store: DuckDBStore, space: str) -> bool:
    """True when ``space`` has a shipped pack and the store has neither its runs nor a model."""
    prefix = PACKS.get(space)
    if prefix is None or not (shipped_dir() / f"{prefix}registry.json").exists():
        return False
    if has_shipped(store, space):
        return False
    row = store.con.execute(
        "SELECT (SELECT count(*) FROM models WHERE space = ?) + "
        "(SELECT count(*) FROM runs WHERE space = ? AND source <> 'validation')",
        [space, space],
    ).fetchall()[0]
    return int(row[0]) == 0


def load_runs_into(
    store: DuckDBStore, directory: Path, *, prefix: str = "", space: str = SHIPPED_SPACE
) -> dict[str, int]:
    """Ingest ``<prefix>runs.parquet``, its curves and meta-features from ``directory``."""
    import pyarrow.parquet as pq

    from recommender.ingest.checks import check_and_write
    from recommender.ingest.metafeature_table import ingest_metafeature_table
    from recommender.ingest.tables import read_table

    runs = read_table(directory / f"{prefix}runs.parquet", "parquet")
    curves = pq.read_table(directory / f"{prefix}curves.parquet")
    report = check_and_write(
        store, runs.table, source=str(directory / f"{prefix}runs.parquet"), fmt=SHIPPED_FORMAT,
        checksum=None, space=space, curves=curves,
    )  # fmt: skip
    mf = read_table(directory / f"{prefix}metafeatures.parquet", "parquet")
    ingest_metafeature_table(
        store, mf, source=str(directory / f"{prefix}metafeatures.parquet"), fmt="parquet",
        checksum=None,
    )  # fmt: skip
    problems = _problem_types(directory / f"{prefix}metafeatures.parquet")
    with store.transaction() as con:
        modality = PACK_MODALITY.get(space, "tabular")
        con.execute(
            "UPDATE tasks SET modality = ?, source = ? WHERE task IN "
            "(SELECT DISTINCT task FROM runs WHERE source = ? AND space = ?)",
            [modality, SHIPPED_FORMAT, SHIPPED_FORMAT, space],
        )
        if problems:
            con.executemany("UPDATE tasks SET problem_type = ? WHERE task = ?", problems)
    return {"runs": report.accepted, "tasks": report.tasks, "curve_points": report.curve_points}


def _problem_types(path: Path) -> list[tuple[str, str]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if "problem_type" not in table.column_names:
        return []
    problem, task = table.column("problem_type").to_pylist(), table.column("task").to_pylist()
    return list(zip(problem, task, strict=True))


def load_shipped(
    store: DuckDBStore, directory: Path | None = None, *, space: str = SHIPPED_SPACE
) -> str:
    """Load the shipped runs, meta-features and surrogate into ``store``; return a one-line note.

    Raises:
        ModelError: the shipped files are missing or fail their checksums.
    """
    root = directory or shipped_dir()
    model_id, counts = _register_pack(store, root, space)
    return (
        f"loaded the shipped knowledge: {counts['runs']} runs on {counts['tasks']} datasets "
        f"and surrogate {model_id} for space {space!r} (once per store)"
    )


def refresh_shipped(store: DuckDBStore, space: str, directory: Path | None = None) -> str | None:
    """Replace a store's shipped champion by the installed package's, if that one differs.

    Only when the champion is the shipped model (the store never trained its own for the
    space): a model the user trained is never replaced. New shipped runs are added
    (ingestion is idempotent); the old shipped model is archived, so ``models rollback``
    brings it back. Returns a one-line note, or ``None`` when nothing changed.
    """
    from recommender.registry import checksum

    prefix = PACKS.get(space)
    root = directory or shipped_dir()
    if store.read_only or prefix is None or not (root / f"{prefix}registry.json").exists():
        return None
    if not has_shipped(store, space):
        return None
    rows = store.con.execute(
        "SELECT model_id, checksum, evaluation, status FROM models WHERE space = ?", [space]
    ).fetchall()
    champions = [r for r in rows if r[3] == "champion"]
    if len(champions) != 1:
        return None
    model_id, stored_sum, evaluation, _ = champions[0]
    flagged = bool(json.loads(evaluation or "{}").get("shipped_model"))
    if not flagged and len(rows) != 1:  # stores loaded before the flag: the only model
        return None
    if checksum(root / f"{prefix}model") == stored_sum:
        return None
    new_id, _ = _register_pack(store, root, space, replaces=int(model_id))
    return (
        f"updated the shipped surrogate for space {space!r} to the installed package's "
        f"(model {new_id}; model {model_id} archived, `recommender models rollback` restores it)"
    )


def _register_pack(
    store: DuckDBStore, root: Path, space: str, replaces: int | None = None
) -> tuple[int, dict[str, int]]:
    """Copy the pack's model, ingest its runs and register the model as champion, at once."""
    from recommender.registry import checksum, models_dir

    bad = verify(root)
    if bad:
        raise ModelError(
            f"shipped data in {root} is missing or corrupt ({', '.join(bad[:3])}); reinstall "
            "recommender or rebuild it: python pipelines/collect/collect.py --write-only"
        )
    prefix = PACKS[space]
    meta: dict[str, Any] = json.loads((root / f"{prefix}registry.json").read_text())
    row = store.con.execute("SELECT nextval('model_id_seq')").fetchall()[0]
    model_id = int(row[0])
    target = models_dir(store) / str(model_id)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(root / f"{prefix}model", target)
    evaluation = {**meta["evaluation"], "shipped_model": True}
    try:
        with store.transaction() as con:  # runs, meta-features and model: all or nothing
            counts = load_runs_into(store, root, prefix=prefix, space=space)
            if replaces is not None:
                con.execute("UPDATE models SET status = 'archived' WHERE model_id = ?", [replaces])
            # The data snapshot the model was trained on: the newest batch of its runs.
            newest = con.execute(
                "SELECT max(batch_id) FROM runs WHERE space = ? AND status = 'ok'",
                [meta["space"]],
            ).fetchall()[0][0]
            con.execute(
                "INSERT INTO models (model_id, space, metric, maximize, fidelity, kind, "
                "artifact, checksum, n_runs, n_tasks, newest_batch, evaluation, status, "
                "promoted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'champion', "
                "current_timestamp)",
                [model_id, meta["space"], meta["metric"], meta["maximize"], meta["fidelity"],
                 meta["kind"], str(target), checksum(target), meta["n_runs"], meta["n_tasks"],
                 newest, json.dumps(evaluation)],
            )  # fmt: skip
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return model_id, counts


def ensure_shipped(store: DuckDBStore, space: str) -> str | None:
    """Load the shipped knowledge if ``space`` needs it and the store lacks it, or bring a
    shipped champion up to the installed package's; return the note (``None``: nothing)."""
    if store.read_only:
        return None
    if needs_shipped(store, space):
        return load_shipped(store, space=space)
    return refresh_shipped(store, space)
