"""The knowledge that ships with recommender: real runs, meta-features and a surrogate.

``data/`` (reached through the package's ``shipped_data`` link) holds one folder per
pack, named in the space's record (:mod:`recommender.spaces.builtin`): Parquet files built
by ``python -m pipelines.collect`` (``runs``, ``curves``, ``metafeatures``, and the same
three with ``holdout_`` for held-out tasks), the surrogate trained on them (``model/``,
``registry.json``); ``SHA256SUMS`` covers them all. The first command
that needs knowledge about a shipped space in a store that has none loads them, once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.errors import ModelError
from recommender.spaces.builtin import BUILTIN_SPACES

if TYPE_CHECKING:
    from recommender.store.base import Store

SHIPPED_SPACE = "tabular_mlp"
SHIPPED_FORMAT = "shipped"
ENV_DIR = "RECOMMENDER_SHIPPED_DIR"


def shipped_dir() -> Path:
    """``$RECOMMENDER_SHIPPED_DIR``, else the package's ``shipped_data`` (the repo's ``data/``)."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[1]
    for candidate in (here / "shipped_data", here.parent / "data"):
        if (candidate / "SHA256SUMS").exists():
            return candidate
    return here / "shipped_data"


def pack_dir(space: str, root: Path | None = None) -> Path | None:
    """The folder of ``space``'s pack under ``root`` (default: :func:`shipped_dir`), or
    ``None`` for a space that ships no pack."""
    record = BUILTIN_SPACES.get(space)
    return None if record is None else (root or shipped_dir()) / record.pack


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


def has_shipped(store: Store, space: str = SHIPPED_SPACE) -> bool:
    return store.count_runs(space=space, source=SHIPPED_FORMAT) > 0


def needs_shipped(store: Store, space: str) -> bool:
    """True when ``space`` has a shipped pack and the store has neither its runs nor a model."""
    pack = pack_dir(space)
    if pack is None or not (pack / "registry.json").exists():
        return False
    if has_shipped(store, space):
        return False
    # Runs of validations alone (or none) do not count: the pack is what they lack.
    return not store.models(space=space) and not store.count_runs(
        space=space, exclude_source="validation"
    )


def load_runs_into(store: Store, directory: Path, *, space: str = SHIPPED_SPACE) -> dict[str, int]:
    """Ingest ``runs.parquet``, its curves and meta-features from a pack's ``directory``."""
    import pyarrow.parquet as pq

    from recommender.ingest.tables import read_table

    runs = read_table(directory / "runs.parquet", "parquet")
    curves = pq.read_table(directory / "curves.parquet")
    report = store.add_runs(
        runs.table, source=str(directory / "runs.parquet"), format=SHIPPED_FORMAT,
        checksum=None, space=space, curves=curves,
    )  # fmt: skip
    mf = read_table(directory / "metafeatures.parquet", "parquet")
    store.add_metafeature_table(
        mf.table, source=str(directory / "metafeatures.parquet"), format="parquet",
        checksum=None, bad_lines=mf.bad_lines,
    )  # fmt: skip
    store.label_tasks(
        runs_source=SHIPPED_FORMAT, space=space,
        modality=BUILTIN_SPACES[space].modality,
        problem_types=_problem_types(directory / "metafeatures.parquet"),
    )  # fmt: skip
    return {"runs": report.accepted, "tasks": report.tasks, "curve_points": report.curve_points}


def _problem_types(path: Path) -> list[tuple[str, str]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if "problem_type" not in table.column_names:
        return []
    problem, task = table.column("problem_type").to_pylist(), table.column("task").to_pylist()
    return list(zip(problem, task, strict=True))


def load_shipped(store: Store, directory: Path | None = None, *, space: str = SHIPPED_SPACE) -> str:
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


def refresh_shipped(store: Store, space: str, directory: Path | None = None) -> str | None:
    """Replace a store's shipped champion by the installed package's, if that one differs.

    Only when the champion is the shipped model (the store never trained its own for the
    space): a model the user trained is never replaced. New shipped runs are added
    (ingestion is idempotent); the old shipped model is archived, so ``models rollback``
    brings it back. Returns a one-line note, or ``None`` when nothing changed.
    """
    from recommender.knowledge.registry import checksum

    pack = pack_dir(space, directory)
    if store.read_only or pack is None or not (pack / "registry.json").exists():
        return None
    if not has_shipped(store, space):
        return None
    rows = store.models(space=space)
    champions = [r for r in rows if r["status"] == "champion"]
    if len(champions) != 1:
        return None
    model_id = champions[0]["model_id"]
    flagged = bool(champions[0]["evaluation"].get("shipped_model"))
    if not flagged and len(rows) != 1:  # stores loaded before the flag: the only model
        return None
    if checksum(pack / "model") == champions[0]["checksum"]:
        return None
    new_id, _ = _register_pack(store, directory or shipped_dir(), space, replaces=int(model_id))
    return (
        f"updated the shipped surrogate for space {space!r} to the installed package's "
        f"(model {new_id}; model {model_id} archived, `recommender models rollback` restores it)"
    )


def _register_pack(
    store: Store, root: Path, space: str, replaces: int | None = None
) -> tuple[int, dict[str, int]]:
    """Copy the pack's model, ingest its runs and register the model as champion, at once."""
    from recommender.knowledge.registry import checksum
    from recommender.store.artifacts import artifact_ref, write_model_dir

    bad = verify(root)
    if bad:
        raise ModelError(
            f"shipped data in {root} is missing or corrupt ({', '.join(bad[:3])}); reinstall "
            "recommender or rebuild it from the repository root: "
            "python -m pipelines.retrain.shipped"
        )
    pack = root / BUILTIN_SPACES[space].pack
    meta: dict[str, Any] = json.loads((pack / "registry.json").read_text())
    model_id = store.next_model_id()
    target = write_model_dir(store, model_id, lambda d: shutil.copytree(pack / "model", d))
    evaluation = {**meta["evaluation"], "shipped_model": True}
    try:
        with store.transaction():  # runs, meta-features and model: all or nothing
            counts = load_runs_into(store, pack, space=space)
            # The data snapshot the model was trained on: the newest batch of its runs.
            _, newest = store.snapshot(meta["space"])
            store.add_model(
                model_id, space=meta["space"], metric=meta["metric"], maximize=meta["maximize"],
                fidelity=meta["fidelity"], kind=meta["kind"], artifact=artifact_ref(store, target),
                checksum=checksum(target), n_runs=meta["n_runs"], n_tasks=meta["n_tasks"],
                newest_batch=newest, evaluation=evaluation, champion=True, replaces=replaces,
            )  # fmt: skip
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return model_id, counts


def ensure_shipped(store: Store, space: str) -> str | None:
    """Load the shipped knowledge if ``space`` needs it and the store lacks it, or bring a
    shipped champion up to the installed package's; return the note (``None``: nothing)."""
    if store.read_only:
        return None
    from recommender.store.artifacts import clean_orphans

    clean_orphans(store)  # model folders a killed command left behind
    if needs_shipped(store, space):
        return load_shipped(store, space=space)
    return refresh_shipped(store, space)
