"""Datasets that installed packages ship, named ``sklearn:<name>`` (no file needed).

>>> frame, target = bundled_frame("sklearn:iris")
>>> frame.shape, target
((150, 5), 'target')
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recommender.errors import DatasetError

PREFIX = "sklearn:"
SKLEARN = ("iris", "wine", "breast_cancer", "diabetes", "digits")


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
    import sklearn.datasets

    frame = getattr(sklearn.datasets, f"load_{short}")(as_frame=True).frame
    return frame, "target"
