"""How much a larger validation split steadies the ranking of configurations on a table.

For each table, the same configurations are trained twice with two seeds (a different
split and initialisation each time), for each validation share. The Spearman correlation
of the two runs' scores over the configurations says how reproducible the ranking is:
per-dataset signal a surrogate can learn only exists where it is high.

    python -m pipelines.collect.split_noise --tables sk_breast_cancer md_mlc_churn ...
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np


def spearman(a: list[float], b: list[float]) -> float:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    rx = np.argsort(np.argsort(x[ok]))
    ry = np.argsort(np.argsort(y[ok]))
    return float(np.corrcoef(rx, ry)[0, 1])


def measure(table: str, configs: list[dict[str, Any]], fractions: list[float], epochs: int,
            seeds: tuple[int, int] = (1, 2)) -> dict[str, Any]:  # fmt: skip
    from pipelines.collect.tabular_suite import load_table
    from recommender.training.tabular import train_tabular

    data = load_table(table)
    out: dict[str, Any] = {"table": table, "rows": len(data.y)}
    for frac in fractions:
        scores: list[list[float]] = []
        for seed in seeds:
            row: list[float] = []
            for cfg in configs:
                r = train_tabular(data, cfg, epochs=epochs, seed=seed, val_fraction=frac,
                                  num_threads=1)  # fmt: skip
                v = r.value if r.status == "ok" else None
                row.append(float("nan") if v is None else float(v))
            scores.append(row)
        out[f"spearman_val{frac:g}"] = spearman(*scores)
        best = [int(np.nanargmax(s)) for s in scores]
        # Regret, on the second split, of the config the first split picked.
        out[f"regret_val{frac:g}"] = float(np.nanmax(scores[1]) - scores[1][best[0]])
    return out


def main(argv: list[str] | None = None) -> None:
    from pipelines.collect.packs import design

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="+", required=True)
    ap.add_argument("--configs", type=int, default=24)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.2, 0.4])
    args = ap.parse_args(argv)
    configs = design("tabular_mlp", args.configs, seed=0)
    results = []
    for table in args.tables:
        start = time.monotonic()
        res = measure(table, configs, args.fractions, args.epochs)
        res["seconds"] = round(time.monotonic() - start, 1)
        print(json.dumps(res), flush=True)
        results.append(res)
    for frac in args.fractions:
        vals = [r[f"spearman_val{frac:g}"] for r in results]
        regrets = [r[f"regret_val{frac:g}"] for r in results]
        print(f"val {frac:g}: mean Spearman {np.nanmean(vals):.3f}, "
              f"mean regret {np.nanmean(regrets):.4f} over {len(results)} tables")  # fmt: skip


if __name__ == "__main__":
    main()
