"""Retrain the shipped surrogates from the Parquet files in ``data/``; rewrite the checksums.

Works in a fresh clone: it needs only each pack's ``data/<pack>/runs.parquet``, its
curves and meta-features (no collection work folder). For every shipped space it trains
the surrogate as the collection does (``pipelines.collect.train_default``) into
``data/<pack>/model/`` with ``data/<pack>/registry.json``, then rewrites
``data/SHA256SUMS``.

    python -m pipelines.retrain.shipped                      # every shipped space
    python -m pipelines.retrain.shipped --space tabular_mlp  # one of them
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEEDED = ("runs.parquet", "curves.parquet", "metafeatures.parquet")


def retrain_shipped(data: Path, spaces: list[str] | None = None, *, seed: int = 0) -> list[str]:
    """Retrain the surrogate of each shipped space found in ``data``; return the spaces done.

    Raises:
        SystemExit: a requested space has no pack, or its files are missing.
    """
    from pipelines.collect.train_default import train_default
    from pipelines.collect.write import write_checksums
    from recommender.spaces.builtin import BUILTIN, BUILTIN_SPACES

    unknown = sorted(set(spaces or []) - set(BUILTIN_SPACES))
    if unknown:
        raise SystemExit(
            f"no shipped pack for space {', '.join(unknown)}; "
            f"expected one of {', '.join(BUILTIN_SPACES)}"
        )
    done = []
    for record in BUILTIN:
        space, folder = record.name, data / record.pack
        missing = [f"{folder.name}/{name}" for name in NEEDED if not (folder / name).is_file()]
        if spaces and space not in spaces:
            continue
        if missing:
            if spaces:
                raise SystemExit(f"{data}: missing {', '.join(missing)} for space {space}")
            continue  # a pack this data folder does not hold
        train_default(folder, space=space, seed=seed)
        done.append(space)
    if not done:
        raise SystemExit(f"{data}: expected shipped runs (<pack>/runs.parquet, ...), found none")
    write_checksums(data)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.retrain.shipped",
        description="Retrain the shipped surrogates from data/*.parquet and rewrite SHA256SUMS.",
    )
    parser.add_argument("--data", default=str(ROOT / "data"), help="folder of the shipped files")
    parser.add_argument(
        "--space", action="append", help="only this space (repeatable; default: every pack)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    done = retrain_shipped(Path(args.data), args.space, seed=args.seed)
    print(f"retrained {', '.join(done)}; checksums rewritten in {args.data}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
