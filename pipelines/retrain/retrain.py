"""Scheduled retraining: train a challenger when new runs arrived; promote it if it wins.

Prints "nothing new" and exits 0 when there is nothing to do. Example cron line in
``pipelines/retrain/crontab``.

Usage:
    python pipelines/retrain/retrain.py --db STORE --space NAME --metric M --maximize \
        [--fidelity F] [--min-new-runs N]
"""

from __future__ import annotations

import argparse
import sys

from recommender.errors import RecommenderError
from recommender.registry import train_and_register
from recommender.store import open_store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Retrain the surrogate of one space if new runs arrived."
    )
    parser.add_argument("--db", default=None, help="store file (default: $RECOMMENDER_DB)")
    parser.add_argument("--space", required=True)
    parser.add_argument("--metric", required=True)
    direction = parser.add_mutually_exclusive_group(required=True)
    direction.add_argument("--maximize", dest="maximize", action="store_true")
    direction.add_argument("--minimize", dest="maximize", action="store_false")
    parser.add_argument("--fidelity", type=float, default=None)
    parser.add_argument("--min-new-runs", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        with open_store(args.db) as store:
            report = train_and_register(
                store, space=args.space, metric=args.metric, maximize=args.maximize,
                fidelity=args.fidelity, min_new_runs=args.min_new_runs,
            )  # fmt: skip
    except RecommenderError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    print("nothing new" if report.status == "nothing_new" else report.message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
