"""The registry tables: trained models (with their promotion status) and search spaces."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from recommender.store.core import StoreCore

_MODEL_COLUMNS = (
    "model_id, space, metric, maximize, fidelity, kind, artifact, checksum, n_runs, "
    "n_tasks, newest_batch, evaluation, status, created_at, promoted_at"
)


class ModelsStore(StoreCore):
    """Model rows, promotion and rollback; imported search spaces."""

    def next_model_id(self) -> int:
        """Reserve a model id (its artifact directory is named after it before it is added)."""
        row = self.con.execute("SELECT nextval('model_id_seq')").fetchall()[0]
        return int(row[0])

    def add_model(
        self,
        model_id: int,
        *,
        space: str,
        metric: str,
        maximize: bool,
        fidelity: float | None,
        kind: str,
        artifact: str,
        checksum: str,
        n_runs: int | None,
        n_tasks: int | None,
        newest_batch: int | None,
        evaluation: Mapping[str, Any],
        champion: bool,
        replaces: int | None = None,
    ) -> None:
        """Add a model row: the space's new champion (the old one archived), or a candidate.

        ``replaces`` archives that model as well, in the same transaction.
        """
        with self.transaction() as con:
            if replaces is not None:
                con.execute("UPDATE models SET status = 'archived' WHERE model_id = ?", [replaces])
            if champion:
                con.execute(
                    "UPDATE models SET status = 'archived' WHERE space = ? AND status = 'champion'",
                    [space],
                )
            con.execute(
                "INSERT INTO models (model_id, space, metric, maximize, fidelity, kind, artifact, "
                "checksum, n_runs, n_tasks, newest_batch, evaluation, status, promoted_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "CASE WHEN ? THEN current_timestamp END)",
                [
                    model_id, space, metric, maximize, fidelity, kind, artifact, checksum, n_runs,
                    n_tasks, newest_batch, json.dumps(dict(evaluation)),
                    "champion" if champion else "candidate", champion,
                ],
            )  # fmt: skip

    def models(
        self, *, space: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Model rows (evaluation decoded), newest promotion first, then newest model."""
        sql = f"SELECT {_MODEL_COLUMNS} FROM models"
        where, args = [], []
        if space is not None:
            where.append("space = ?")
            args.append(space)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY promoted_at DESC NULLS LAST, model_id DESC"
        cur = self.con.execute(sql, args)
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        for r in rows:
            r["evaluation"] = json.loads(r["evaluation"]) if r["evaluation"] else {}
        return rows

    def promote(self, model_id: int, space: str) -> None:
        """Make ``model_id`` the champion of ``space``; the old champion is archived."""
        with self.transaction() as con:
            con.execute(
                "UPDATE models SET status = 'archived' WHERE space = ? AND status = 'champion'",
                [space],
            )
            con.execute(
                "UPDATE models SET status = 'champion', promoted_at = current_timestamp "
                "WHERE model_id = ?",
                [model_id],
            )

    def rollback(self, model_id: int, to: int) -> None:
        """Mark ``model_id`` rolled back and make ``to`` the champion again, at once."""
        with self.transaction() as con:
            con.execute("UPDATE models SET status = 'rolled_back' WHERE model_id = ?", [model_id])
            con.execute(
                "UPDATE models SET status = 'champion', promoted_at = current_timestamp "
                "WHERE model_id = ?",
                [to],
            )

    def snapshot(self, space: str | None = None) -> tuple[int, int | None]:
        """``(successful runs, newest batch among them)`` of ``space``, or of all spaces."""
        sql = "SELECT count(*), max(batch_id) FROM runs WHERE status = 'ok'"
        args: list[Any] = []
        if space is not None:
            sql += " AND space = ?"
            args.append(space)
        row = self.con.execute(sql, args).fetchall()[0]
        return int(row[0]), (None if row[1] is None else int(row[1]))

    # -- search spaces ------------------------------------------------------------------
    def add_space(
        self,
        name: str,
        definition: Mapping[str, Any],
        *,
        source: str,
        replace: bool = True,
        param_types: tuple[str, Mapping[str, str]] | None = None,
    ) -> None:
        """Save a space definition under ``name``.

        With ``replace=False`` a space already stored under ``name`` is kept.
        ``param_types`` is ``(space, {parameter: "int" | "float" | "categorical"})``: types
        the runs of that space get, unless a parameter is typed already.
        """
        conflict = "" if replace else " ON CONFLICT (name) DO NOTHING"
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        with self.transaction() as con:
            con.execute(
                f"{verb} INTO spaces (name, definition, source) VALUES (?, ?, ?){conflict}",
                [name, json.dumps(dict(definition)), source],
            )
            if param_types is not None:
                space, types = param_types
                con.executemany(
                    "INSERT INTO param_types (space, name, type) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [(space, p, t) for p, t in types.items()],
                )

    def space(self, name: str) -> dict[str, Any] | None:
        """The stored definition of space ``name`` (``None`` if not imported)."""
        row = self.con.execute("SELECT definition FROM spaces WHERE name = ?", [name]).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def space_source(self, name: str) -> str | None:
        """Where space ``name`` came from (a file, ``optuna``, ...); ``None`` if not stored."""
        row = self.con.execute("SELECT source FROM spaces WHERE name = ?", [name]).fetchone()
        return None if row is None else str(row[0])

    def spaces(self) -> list[dict[str, Any]]:
        """Imported spaces: ``{"name", "source", "definition"}``, by name."""
        rows = self.con.execute(
            "SELECT name, source, definition FROM spaces ORDER BY name"
        ).fetchall()
        return [{"name": n, "source": s, "definition": json.loads(d)} for n, s, d in rows]
