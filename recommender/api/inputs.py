"""What users pass in, made usable: a DataFrame, a path or a bundled name becomes a
:class:`~recommender.datasets.loading.Dataset`; a dict or JSON file, finite meta-features; and
``validate``'s run options, checked."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from recommender.arguments import check_int, check_top_k
from recommender.errors import DatasetError, InvalidArgumentError

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd

    from recommender.datasets.loading import Dataset
    from recommender.knowledge.query import Describe

Data: TypeAlias = "pd.DataFrame | npt.NDArray[Any] | str | Path"
# A target column's name, or (scikit-learn's ``X, y``) the labels themselves.
Target: TypeAlias = "str | npt.ArrayLike | None"
DEFAULT_SPACE = "tabular_mlp"


def read_metafeatures(path: str | Path) -> dict[str, float]:
    """Meta-features from a JSON file: ``{name: value}``, or ``describe --json`` output.

    Entries that are not finite numbers (``problem_type``, ``modality``, nulls) are dropped.

    Raises:
        DatasetError: the file is missing, not JSON, or not an object.
    """
    path = Path(path)
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        raise DatasetError(f"meta-features file {path} not found; check the path") from None
    except (OSError, ValueError) as err:
        raise DatasetError(f"meta-features file {path}: expected JSON, got: {err}") from err
    if isinstance(obj, dict) and isinstance(obj.get("features"), dict):
        obj = obj["features"]
    if not isinstance(obj, dict):
        raise DatasetError(
            f"meta-features file {path}: expected a JSON object {{name: value}}, "
            f"got {type(obj).__name__}"
        )
    return finite_numbers(obj)


def finite_numbers(obj: Mapping[str, Any]) -> dict[str, float]:
    """The entries that are finite numbers, as floats (numpy scalars included)."""
    return {
        str(k): float(v)
        for k, v in obj.items()
        if isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
    }


def features_and_space(
    data: Data | Mapping[str, Any], target: Target, space: str | None, text_column: str | None
) -> tuple[dict[str, float] | Describe, str]:
    """Meta-features of ``data`` and the space to recommend from (no store needed).

    A meta-feature dict picks its space from ``space``, else its ``"modality"`` entry,
    else ``tabular_mlp``; a dataset from ``space``, else its modality. A dataset's
    meta-features come as a function of the names the model reads: only the groups that
    compute those are computed.
    """
    from recommender.training.trainers import default_space_for

    if isinstance(data, Mapping):
        for arg, value in (("target", target), ("text_column", text_column)):
            if value is not None:
                raise InvalidArgumentError(
                    f"{arg}: expected None with a meta-feature dict (it describes the data "
                    f"already), got {value!r}; pass the table instead"
                )
        modality = data.get("modality")
        return finite_numbers(data), space or (
            default_space_for(modality) if isinstance(modality, str) else DEFAULT_SPACE
        )
    from recommender.metafeatures import compute_metafeatures, groups_computing
    from recommender.training.common import check_target

    plain = text_column is None and (target is None or isinstance(target, str))
    read = _read_plainly(data, target if isinstance(target, str) else None) if plain else None
    if read is not None:
        return read, space or default_space_for("tabular")
    dataset = load_data(data, target, text_column=text_column)
    # A target no trainer can learn from (one class, ...) is refused as validate and tune
    # refuse it: recommending configurations to train on it would mislead.
    check_target(dataset.y, dataset.problem_type, dataset.target)

    def describe(names: Sequence[str]) -> dict[str, float]:
        groups = groups_computing(dataset.modality, names)
        return compute_metafeatures(dataset, groups=groups).features

    return describe, space or default_space_for(dataset.modality)


def _read_plainly(data: Data, target: str | None) -> Describe | None:
    """For a small table file of numbers, booleans and text, or a bundled table read from
    a CSV file: its meta-features as a function of the names wanted, read into NumPy
    without pandas. ``None`` for anything the full loader must read."""
    if not isinstance(data, (str, Path)):
        return None
    from recommender.datasets.bundled import TARGET, bundled_columns, is_bundled
    from recommender.datasets.files import read_columns
    from recommender.datasets.labels import default_target
    from recommender.metafeatures import groups_computing, prepared_features
    from recommender.metafeatures.prepare import prepare_columns
    from recommender.training.common import check_labels

    columns = bundled_columns(str(data)) if is_bundled(data) else read_columns(Path(data))
    if columns is None:
        return None
    if target is None:
        target = TARGET if is_bundled(data) else default_target(columns)
    prepared = prepare_columns(columns, target)
    if prepared is None:
        return None
    table, problem = prepared
    try:
        check_labels(table.n_rows, table.n_classes, None, target)
    except DatasetError:
        return None  # the full loader refuses it, in its words

    def describe(names: Sequence[str]) -> dict[str, float]:
        groups = groups_computing("tabular", names)
        return prepared_features(table, problem, groups)

    return describe


def load_data(
    data: Data,
    target: Target = None,
    *,
    problem: str | None = None,
    text_column: str | None = None,
    max_rows: int | None = None,
    seed: int = 0,
    name: str | None = None,
) -> Dataset:
    """A :class:`~recommender.datasets.loading.Dataset` from a DataFrame, path or bundled
    name, or from scikit-learn's ``X, y`` (features, then labels as ``target``)."""
    import numpy as np
    import pandas as pd

    from recommender.datasets import loading as datasets
    from recommender.datasets.labels import default_target

    if max_rows is not None and max_rows < 2:
        raise InvalidArgumentError(f"max_rows: expected an integer >= 2, got {max_rows}")
    if isinstance(data, np.ndarray) or not isinstance(target, str | None):
        data, target, name = arrays_as_table(data, target), "y", name or "array"
    if isinstance(data, str | Path):
        return datasets.load_dataset(
            data, target, problem=problem, text_column=text_column, max_rows=max_rows,
            seed=seed, name=name,
        )  # fmt: skip
    if not isinstance(data, pd.DataFrame):
        raise InvalidArgumentError(
            "data: expected a pandas DataFrame, a path or a bundled dataset such as "
            f"'sklearn:iris', got {type(data).__name__}"
        )
    if len(data) == 0:
        raise DatasetError("DataFrame: no rows; expected at least 2 labelled rows")
    repeated = data.columns[data.columns.duplicated()]
    if len(repeated):
        raise DatasetError(
            f"DataFrame: expected unique column names, got {str(repeated[0])!r} "
            f"{int((data.columns == repeated[0]).sum())} times; rename or drop the repeats"
        )
    ds = datasets.dataset_from_frame(
        data, target or default_target(data), name=name or "dataframe",
        problem=problem, max_rows=max_rows, seed=seed,
    )  # fmt: skip
    return datasets._as_text_if_needed(ds, text_column)


def arrays_as_table(X: Any, y: Any) -> pd.DataFrame:
    """scikit-learn's ``X, y`` as one table: ``X``'s columns (``x0``, ``x1``, ... for an
    array) and the labels as column ``y``.

    Raises:
        InvalidArgumentError: no labels, or shapes that are not ``(n, d)`` and ``(n,)``.
    """
    import numpy as np
    import pandas as pd

    if y is None or isinstance(y, str):
        raise InvalidArgumentError(
            f"target: with an array as data, expected its labels (scikit-learn's X, y), got "
            f"{y!r}; pass them as target=y, or pass a DataFrame that holds the target"
        )
    labels = np.asarray(y)
    frame = X.copy() if isinstance(X, pd.DataFrame) else None
    shape = X.shape if frame is not None else np.shape(X)
    if len(shape) != 2 or labels.ndim != 1 or labels.shape[0] != shape[0]:
        raise InvalidArgumentError(
            f"data and target: expected X of shape (n, d) and y of shape (n,), got "
            f"{tuple(shape)} and {labels.shape}; pass them as scikit-learn takes them"
        )
    if frame is None:
        frame = pd.DataFrame(np.asarray(X), columns=[f"x{i}" for i in range(shape[1])])
    elif "y" in frame.columns:
        raise InvalidArgumentError(
            "data: expected no column 'y' in X (the labels take that name), got one; "
            "rename it, or pass one DataFrame with target='y'"
        )
    frame["y"] = labels
    return frame


def check_validate_args(
    top_k: int,
    epochs: int | None,
    budget_s: float | None,
    executor: str,
    parallel: int,
    seed: int = 0,
) -> int:
    """Check :func:`recommender.api.validate`'s run options before anything is loaded.

    Returns:
        ``seed`` as an int (a NumPy integer is one).

    Raises:
        InvalidArgumentError: a bad ``top_k``, ``epochs``, ``budget_s`` (or both given),
            ``executor`` or ``parallel``.
        DatasetError: a bad ``seed``.
    """
    from recommender.datasets.loading import check_seed

    check_top_k(top_k, low=0)
    if epochs is not None and budget_s is not None:
        raise InvalidArgumentError(
            f"epochs and budget_s: expected one of them, got both ({epochs}, {budget_s})"
        )
    if epochs is not None and (isinstance(epochs, bool) or epochs < 1):
        raise InvalidArgumentError(f"epochs: expected an integer >= 1, got {epochs!r}")
    if budget_s is not None and not budget_s > 0:
        raise InvalidArgumentError(f"budget_s: expected seconds > 0, got {budget_s!r}")
    if executor not in ("local", "ray"):
        raise InvalidArgumentError(f"executor: expected local or ray, got {executor!r}")
    check_int("parallel", parallel)
    return check_seed(seed)
