"""The base class of every surrogate regressor: settings, fitting, members, persistence.

A surrogate maps rows ``[encoded config, task meta-features]`` to a normalised score.
It is an ensemble: :meth:`BaseSurrogate.predict_members` returns one prediction per
member, and the members' spread serves as the uncertainty (and as posterior samples
for the portfolio). To add a kind (for example a neural few-shot model):

1. subclass :class:`BaseSurrogate` as a keyword-only dataclass, give it a ``kind`` and
   its settings as fields (``n_members``, ``seed`` and ``n_jobs`` are inherited);
2. implement ``fit``, ``predict_members``, ``save`` and the classmethod ``load``
   (safe formats only: safetensors, XGBoost UBJ, ``torch.load(weights_only=True)``);
   import heavy libraries inside those methods, never at module level;
3. register the class in :mod:`recommender.surrogate.kinds`.

The settings are the dataclass fields, which are exactly ``__init__``'s arguments, so
``get_params``/``set_params`` follow the scikit-learn convention and
``sklearn.base.clone`` works, without this module importing scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt

from recommender.errors import ModelError, NotFittedError

S = TypeVar("S", bound="BaseSurrogate")


@dataclass(eq=False, kw_only=True)
class BaseSurrogate:
    """An ensemble regressor over ``[encoded config, task meta-features]`` rows.

    Args:
        n_members: ensemble size; ``predict_members`` returns this many rows.
        seed: randomness (``None``: unseeded).
        n_jobs: threads while fitting and predicting.
    """

    kind: ClassVar[str] = ""

    n_members: int = 1
    seed: int | None = None
    n_jobs: int = 1
    n_features_in_: int = field(init=False, repr=False)  # set by fit() and load()

    # -- settings (scikit-learn convention) -------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The ``__init__`` arguments: the dataclass fields that ``__init__`` takes."""
        return sorted(f.name for f in fields(cls) if f.init)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments as set on this object (``deep`` is accepted, unused)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self: S, **params: Any) -> S:
        """Change settings; a fitted model keeps its state until the next ``fit``.

        Raises:
            ModelError: a name that is not one of the constructor's arguments.
        """
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ModelError(
                    f"{type(self).__name__}: expected settings among {', '.join(valid)}, "
                    f"got {name!r}"
                )
            setattr(self, name, value)
        return self

    # -- the interface each kind implements -------------------------------------------
    def fit(self: S, X: npt.ArrayLike, y: npt.ArrayLike, groups: npt.ArrayLike | None = None) -> S:
        """Fit on rows ``X`` and normalised scores ``y``; ``groups`` are task labels.

        Sets ``n_features_in_``. Raises :class:`ModelError` on empty or mismatched input.
        """
        raise NotImplementedError

    def predict_members(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``(n_members, n)`` predictions, one row per ensemble member."""
        raise NotImplementedError

    def save(self, directory: Path) -> list[Path]:
        """Write the fitted state into ``directory`` (safe formats only); return the files."""
        raise NotImplementedError

    @classmethod
    def load(cls: type[S], directory: Path, n_features: int, params: dict[str, Any]) -> S:
        """Read what :meth:`save` wrote; ``params`` are the settings from ``get_params``."""
        raise NotImplementedError

    # -- shared behaviour -------------------------------------------------------------
    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The ensemble mean."""
        return self.predict_members(X).mean(axis=0)

    def predict_member(self, X: npt.ArrayLike, member: int) -> npt.NDArray[np.float64]:
        """Predictions of one member."""
        return self.predict_members(X)[member]

    def _check_fitted(self) -> None:
        """Raises :class:`NotFittedError` before ``fit`` or ``load``."""
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() or load() first")

    def _checked_rows(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``X`` as a float array with the fitted number of columns.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            ModelError: another number of columns.
        """
        self._check_fitted()
        X_ = np.asarray(X, dtype=float)
        if X_.ndim != 2 or X_.shape[1] != self.n_features_in_:
            raise ModelError(
                f"surrogate: expected {self.n_features_in_} columns, got {X_.shape}; "
                "the model was trained for another space or meta-feature set; retrain"
            )
        return X_
