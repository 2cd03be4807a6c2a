"""Read MLflow tracking stores and Optuna storages into canonical run tables.

Both are read through their own clients (``MlflowClient``, ``optuna.load_study``), so
every backend they support works. The per-run loop here is the clients' API; the
checks and writes after it are vectorised.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from recommender.errors import IngestError
from recommender.ingest.arrow_types import widen_big_integers

MLFLOW_STATUS = {"FINISHED": "ok", "FAILED": "failed", "KILLED": "killed", "RUNNING": "running",
                 "SCHEDULED": "running"}  # fmt: skip
OPTUNA_STATUS = {"COMPLETE": "ok", "FAIL": "failed", "PRUNED": "pruned", "RUNNING": "running",
                 "WAITING": "running"}  # fmt: skip


def _columns(rows: list[dict[str, Any]]) -> pa.Table:
    keys: dict[str, None] = {}
    for row in rows:
        for k in row:
            keys.setdefault(k)
    data: dict[str, list[Any]] = {k: [row.get(k) for row in rows] for k in keys}
    arrays = {}
    for k, values in data.items():
        try:
            arrays[k] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[k] = pa.array([None if v is None else str(v) for v in values], pa.string())
        if k.startswith("param."):
            arrays[k] = widen_big_integers(pa.chunked_array([arrays[k]]))
    arrays["_line"] = pa.array(range(1, len(rows) + 1), pa.int64())
    return pa.table(arrays)


def _empty_curves() -> pa.Table:
    return pa.table(
        {
            "run_id": pa.array([], pa.string()),
            "name": pa.array([], pa.string()),
            "step": pa.array([], pa.float64()),
            "value": pa.array([], pa.float64()),
        }
    )


def _curves(points: list[tuple[str, str, float, float]]) -> pa.Table:
    if not points:
        return _empty_curves()
    run_id, name, step, value = zip(*points, strict=True)
    return pa.table(
        {
            "run_id": pa.array(run_id, pa.string()),
            "name": pa.array(name, pa.string()),
            "step": pa.array(step, pa.float64()),
            "value": pa.array(value, pa.float64()),
        }
    )


def _existing_sqlite(source: str, what: str) -> None:
    """Refuse a ``sqlite:///`` URL whose file is missing: the client would create it."""
    if source.startswith("sqlite:///") and not Path(source[len("sqlite:///") :]).is_file():
        raise IngestError(
            f"{what} {source!r} not found: no file {source[len('sqlite:///') :]}; "
            "check the path (sqlite:///relative.db, sqlite:////absolute.db)"
        )


def mlflow_uri(source: str) -> str:
    """A tracking URI for ``source``: a URI as given, a ``.db`` file, or an ``mlruns`` folder."""
    if "://" in source:
        _existing_sqlite(source, "MLflow store")
        return source
    p = Path(source).expanduser().resolve()
    if p.is_dir():
        # MLflow 3 refuses the file store unless asked for explicitly.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        return p.as_uri()
    if p.is_file():
        return f"sqlite:///{p}"
    raise IngestError(
        f"MLflow store {source!r} not found; expected a tracking URI, a .db file "
        "or an mlruns folder"
    )


def read_mlflow(source: str, *, task_tag: str | None = None) -> tuple[pa.Table, pa.Table]:
    """Runs of every experiment in an MLflow store, and their metric histories.

    Args:
        source: tracking URI (``sqlite:///mlflow.db``), ``.db`` file or ``mlruns`` folder.
        task_tag: take each run's task from this tag; default: the experiment's name.

    Raises:
        IngestError: the store cannot be opened or read (MLflow's own error, on one line).
    """
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as err:
        raise IngestError(
            "reading MLflow stores needs mlflow; run: pip install mlflow-skinny"
        ) from err
    uri = mlflow_uri(source)
    rows: list[dict[str, Any]] = []
    points: list[tuple[str, str, float, float]] = []
    try:
        client = MlflowClient(tracking_uri=uri)
        for exp in client.search_experiments():
            _mlflow_experiment(client, exp, task_tag, rows, points)
    except Exception as err:  # MLflow raises many types for a store it cannot read
        raise IngestError(
            f"cannot read MLflow store {source}: {_one_line(err)}; check it opens in MLflow; "
            "nothing was stored"
        ) from err
    return _columns(rows), _curves(points)


def _mlflow_experiment(
    client: Any,
    exp: Any,
    task_tag: str | None,
    rows: list[dict[str, Any]],
    points: list[tuple[str, str, float, float]],
) -> None:
    token = None
    while True:
        page = client.search_runs([exp.experiment_id], max_results=1000, page_token=token)
        for run in page:
            info, data = run.info, run.data
            end = info.end_time
            row: dict[str, Any] = {
                "task": data.tags.get(task_tag) if task_tag else exp.name,
                "run_id": info.run_id,
                "status": MLFLOW_STATUS.get(info.status, info.status),
                "duration_s": (end - info.start_time) / 1000.0 if end and info.start_time else None,
            }
            row.update({f"param.{k}": v for k, v in data.params.items()})
            row.update({f"metric.{k}": v for k, v in data.metrics.items()})
            rows.append(row)
            for key in data.metrics:
                history = client.get_metric_history(info.run_id, key)
                if len(history) > 1:
                    points += [(info.run_id, key, float(m.step), float(m.value)) for m in history]
        token = page.token
        if not token:
            return


@dataclass
class Study:
    """One Optuna study: its trials as a run table, its curves and its search space."""

    name: str
    runs: pa.Table
    curves: pa.Table
    space: dict[str, Any] | None


def read_optuna(source: str, *, task_attr: str | None = None) -> list[Study]:
    """Each study of an Optuna storage, with its own parameters and types.

    Args:
        source: storage URL (``sqlite:///optuna.db``) or a ``.db`` file.
        task_attr: take each study's task from this user attribute; default: the study name.

    Returns:
        One :class:`Study` per study that has trials, its space from its distributions
        (None when no trial has parameters).

    Raises:
        IngestError: the storage cannot be opened or read (Optuna's own error, on one line).
    """
    try:
        import optuna
    except ImportError as err:
        raise IngestError("reading Optuna storages needs optuna; run: pip install optuna") from err
    url = source if "://" in source else f"sqlite:///{Path(source).expanduser().resolve()}"
    if "://" not in source and not Path(source).expanduser().is_file():
        raise IngestError(
            f"Optuna storage {source!r} not found; expected a storage URL or .db file"
        )
    _existing_sqlite(url, "Optuna storage")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    studies = []
    try:
        for summary in optuna.get_all_study_summaries(storage=url):
            study = optuna.load_study(study_name=summary.study_name, storage=url)
            studies.append(_optuna_study(study, task_attr))
    except Exception as err:  # Optuna and SQLAlchemy raise many types for a bad storage
        raise IngestError(
            f"cannot read Optuna storage {source}: {_one_line(err)}; check it opens in Optuna; "
            "nothing was stored"
        ) from err
    return [s for s in studies if s.runs.num_rows]


def _optuna_study(study: Any, task_attr: str | None) -> Study:
    task = study.user_attrs.get(task_attr) if task_attr else study.study_name
    names = _objective_names(study)
    distributions: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    points: list[tuple[str, str, float, float]] = []
    for trial in study.get_trials(deepcopy=False):
        run_id = f"{study.study_name}/{trial.number}"
        row: dict[str, Any] = {
            "task": task,
            "run_id": run_id,
            "status": OPTUNA_STATUS.get(trial.state.name, trial.state.name.lower()),
            "duration_s": trial.duration.total_seconds() if trial.duration else None,
        }
        for k, v in trial.params.items():
            row[f"param.{k}"] = v
            distributions.setdefault(str(k), trial.distributions[k])
        for name, value in zip(names, trial.values or [], strict=False):
            row[f"metric.{name}"] = value
        if trial.intermediate_values:
            row["fidelity"] = float(max(trial.intermediate_values))
            points += [
                (run_id, names[0], float(step), float(v))
                for step, v in trial.intermediate_values.items()
                if v is not None and math.isfinite(v)
            ]
        rows.append(row)
    space = _space_from_distributions(study.study_name, distributions) if distributions else None
    table = _columns(rows)
    if space is not None:
        table = _categoricals_as_text(table, space)
    return Study(study.study_name, table, _curves(points), space)


def _categoricals_as_text(table: pa.Table, space: dict[str, Any]) -> pa.Table:
    """Categorical choices as their text: ``[1, "a", 2.5, None, True]`` is not a float."""
    for hp in space["hyperparameters"]:
        col = f"param.{hp['name']}"
        if hp["type"] == "categorical" and col in table.column_names:
            i = table.column_names.index(col)
            text = [None if v is None else str(v) for v in table.column(i).to_pylist()]
            table = table.set_column(i, col, pa.array(text, pa.string()))
    return table


def _objective_names(study: Any) -> list[str]:
    names = getattr(study, "metric_names", None)
    n = len(study.directions)
    if names and len(names) == n:
        return [str(x) for x in names]
    return ["value"] if n == 1 else [f"value_{i}" for i in range(n)]


def _space_from_distributions(name: str, distributions: dict[str, Any]) -> dict[str, Any]:
    import optuna.distributions as d

    params: list[dict[str, Any]] = []
    for key, dist in sorted(distributions.items()):
        if isinstance(dist, d.CategoricalDistribution):
            params.append({"name": key, "type": "categorical", "choices": list(dist.choices)})
        elif isinstance(dist, d.IntDistribution):
            params.append({"name": key, "type": "int", "low": dist.low, "high": dist.high,
                           "log": dist.log})  # fmt: skip
        elif isinstance(dist, d.FloatDistribution):
            params.append({"name": key, "type": "float", "low": dist.low, "high": dist.high,
                           "log": dist.log})  # fmt: skip
    return {"name": name, "description": f"from Optuna study {name}", "hyperparameters": params}


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__
