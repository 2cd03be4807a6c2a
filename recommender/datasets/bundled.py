"""Datasets that installed packages ship, named ``sklearn:<name>`` (no file needed).

>>> frame, target = bundled_frame("sklearn:iris")
>>> frame.shape, target
((150, 5), 'target')
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from recommender.errors import DatasetError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

PREFIX = "sklearn:"
TARGET = "target"  # every bundled table's target column
SKLEARN = ("iris", "wine", "breast_cancer", "diabetes", "digits")
# Bundled tables read straight from scikit-learn's CSV files (``data/<name>.csv``: a header
# line of counts and class names, then features and the class code), without importing
# ``sklearn.datasets`` (and scipy with it); their feature names, as scikit-learn gives them.
CSV_COLUMNS = {
    "iris": ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"],
}


def is_bundled(path: object) -> bool:
    return isinstance(path, (str, Path)) and str(path).startswith(PREFIX)


def bundled_frame(name: str) -> tuple[pd.DataFrame, str]:
    """The table of a bundled dataset and its target column.

    Raises:
        DatasetError: unknown name.
    """
    short = name[len(PREFIX) :]
    if short not in SKLEARN:
        choices = ", ".join(PREFIX + s for s in SKLEARN)
        raise DatasetError(f"unknown bundled dataset {name!r}; expected one of {choices}")
    if short in CSV_COLUMNS:
        import pandas as pd

        values = _csv_values(short)
        frame = pd.DataFrame(values[:, :-1], columns=CSV_COLUMNS[short])
        frame[TARGET] = values[:, -1].astype("int64")
        return frame, TARGET
    import sklearn.datasets

    frame = getattr(sklearn.datasets, f"load_{short}")(as_frame=True).frame
    return frame, TARGET


def bundled_columns(name: str) -> dict[str, npt.NDArray[np.generic]] | None:
    """:func:`bundled_frame`'s table as NumPy columns, read without pandas, for the tables
    read from scikit-learn's CSV files (``None`` for the others)."""
    short = name[len(PREFIX) :] if is_bundled(name) else ""
    if short not in CSV_COLUMNS:
        return None
    values = _csv_values(short)
    columns = {c: values[:, j] for j, c in enumerate(CSV_COLUMNS[short])}
    return {**columns, TARGET: values[:, -1].astype("int64")}


def _csv_values(short: str) -> npt.NDArray[np.float64]:
    """The rows of scikit-learn's ``data/<short>.csv``: features, then the class code."""
    import importlib.util

    import numpy as np

    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError(f"{PREFIX}{short}: expected scikit-learn installed; pip install it")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    values: npt.NDArray[np.float64] = np.loadtxt(path / f"{short}.csv", delimiter=",", skiprows=1)
    return values
