"""Answer a recommendation query against a store: its champion ranks, the query is logged.

The one place that joins the store to :mod:`recommender.knowledge.ranking`; used by
:func:`recommender.api.recommend` and by ``validate`` (which logs its query too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeAlias

from recommender.arguments import check_top_k
from recommender.errors import DatasetError, ModelError
from recommender.knowledge.ranking import RecommendResult, recommend_with
from recommender.knowledge.registry import champion
from recommender.spaces.space import load_space

if TYPE_CHECKING:
    from recommender.store.base import Store

# Computes a task's meta-features given the names the model reads (a dataset is then
# described only as far as the champion needs).
Describe: TypeAlias = Callable[[Sequence[str]], dict[str, float]]


def answer(
    store: Store,
    metafeatures: dict[str, float] | Describe | None,
    *,
    space: str,
    top_k: int = 5,
    task: str | None = None,
    log: bool = True,
) -> RecommendResult:
    """Rank ``top_k`` configurations of ``space`` for a task described by ``metafeatures``.

    Args:
        store: an open store (writable if ``log``).
        metafeatures: OpenML-named meta-features of the task (None: ``task``'s stored ones),
            or a function computing them from the names the champion reads.
        space: space name, as given to ``retrain``.
        top_k: how many configurations to return (fewer when the model knows fewer
            distinct evaluated configurations).
        task: name of the task, if known (logged with the query).
        log: record the query in the store's ``queries`` table.

    Returns:
        A :class:`~recommender.knowledge.ranking.RecommendResult`, best first.

    Raises:
        SpaceError: unknown space.
        InvalidArgumentError: ``top_k`` is not a positive integer.
        ModelError: no trained model for the space.
        DatasetError: the meta-features lack most of what the model uses, or ``task``
            is not in the store.

    Without meta-features (``None`` or ``{}``, and no ``task`` with stored ones) the
    answer is the plain global portfolio: the configs that do best across the known tasks.
    """
    sp = load_space(space, store)
    if metafeatures is None and task is not None:
        metafeatures = _stored_metafeatures(store, task)
    check_top_k(top_k)
    loaded = champion(store, sp.name)
    if loaded is None:
        n = store.info()["runs"]
        hint = "ingest runs, then " if n == 0 else ""
        raise ModelError(
            f"no trained model for space {sp.name!r} (store has {n} runs); {hint}run: "
            f"recommender retrain --space {sp.name} --metric METRIC --maximize"
        )
    if callable(metafeatures):  # a model that uses no meta-features asks for none
        metafeatures = metafeatures(loaded.surrogate.scaler.names)
    recs = recommend_with(loaded.surrogate, metafeatures, top_k=top_k)
    query_id = (
        store.log_query(
            space=sp.name,
            task=task,
            model_id=loaded.model_id,
            metafeatures=metafeatures or {},
            top_k=top_k,
            results=[r.as_dict() for r in recs],
        )
        if log
        else None
    )
    return RecommendResult(query_id, sp, loaded.model_id, recs)


def _stored_metafeatures(store: Store, task: str) -> dict[str, float] | None:
    """``task``'s stored meta-features (``None`` when it has none)."""
    features: dict[str, float] | None = store.metafeatures(task).get(task)
    if not features and task not in store.task_names():
        raise DatasetError(f"task {task!r} is not in the store; see: recommender tasks list")
    return features or None
