"""Write one collected pack into ``data/``: Parquet tables, the shipped surrogate, checksums.

Each pack has its own folder, ``data/<pack>/`` (named in its space's record,
:mod:`recommender.spaces.builtin`): ``runs.parquet``, ``curves.parquet``,
``metafeatures.parquet``, the same three with ``holdout_`` for the pack's held-out tasks,
``model/`` and ``registry.json``; ``data/SHA256SUMS`` is rewritten over all packs.

    python -m pipelines.collect.pack_write image --work-dir /work/collect/image --out data
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import ModuleType

from pipelines.collect.packs import Pack, get_pack
from recommender.knowledge.packs import pack_dir


def _helpers() -> tuple[ModuleType, ModuleType]:
    """``write`` and ``train_default`` of this package."""
    from pipelines.collect import train_default, write

    return write, train_default


def write_pack(pack: Pack, work: Path, out: Path, *, train_model: bool = True,
               partial: bool = False) -> dict[str, int]:  # fmt: skip
    """Turn ``work``'s runs of ``pack`` into its folder in ``out``; return what was written.

    Only tasks with every run of the design done are written (unless ``partial``), so a
    collection still running yields a smaller but consistent pack.
    """
    write, train_default = _helpers()
    records, mfs = write._load(work)
    tasks = set(pack.tasks())
    records = [r for r in records if r["task"] in tasks]
    if not records:
        raise SystemExit(f"no runs of pack {pack.name!r} in {work}; collect them first")
    runs, curves = write.tables(records)
    runs = runs.drop_duplicates("run_id", keep="last")
    per_task = runs.groupby("task")["run_id"].nunique()
    n_design = len(json.loads((work / f"design_{pack.space}.json").read_text()))
    complete = set(per_task.index if partial else per_task[per_task >= n_design].index)
    runs = runs[runs["task"].isin(complete)]
    held = runs["task"].isin(pack.holdout())
    folder = pack_dir(pack.space, out) or out / pack.name
    folder.mkdir(parents=True, exist_ok=True)
    write._write_part(folder, "", runs[~held], curves, mfs)
    for stale in folder.glob("holdout_*.parquet"):  # of an earlier collection
        stale.unlink()
    if held.any():
        write._write_part(folder, "holdout_", runs[held], curves, mfs)
    summary = {
        "runs": int((~held).sum()),
        "tasks": int(runs.loc[~held, "task"].nunique()),
        "holdout_runs": int(held.sum()),
        "holdout_tasks": int(runs.loc[held, "task"].nunique()),
        "incomplete_tasks": len(tasks & set(per_task.index) - complete),
    }
    print(f"{pack.space}: {summary} -> {folder}")
    if train_model:
        train_default.train_default(folder, space=pack.space)
    write.write_checksums(out)
    return summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write one collected pack into data/.")
    ap.add_argument("pack", help="image, text or tabular")
    ap.add_argument("--work-dir", required=True, help="the collection's work folder")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "data"))
    ap.add_argument("--no-model", action="store_true", help="do not train the surrogate")
    ap.add_argument("--partial", action="store_true", help="also tasks with runs still to do")
    ap.add_argument("--readme", action="store_true", help="print the tasks' README table")
    args = ap.parse_args(argv)
    if args.readme:
        get_pack(args.pack)  # registers the suite
        suite = {"image": "image_suite", "text": "text_suite", "tabular": "tabular_suite"}
        module = __import__(f"pipelines.collect.{suite[args.pack]}", fromlist=["readme_table"])
        if args.pack != "tabular":
            print(module.readme_table())
            return
        import pandas as pd  # the tables the written pack holds

        out = pack_dir(get_pack(args.pack).space, Path(args.out)) or Path(args.out)
        files = [out / "runs.parquet", out / "holdout_runs.parquet"]
        tasks = {
            t for f in files if f.exists() for t in pd.read_parquet(f, columns=["task"])["task"]
        }
        print(module.readme_table(tasks))
        return
    write_pack(get_pack(args.pack), Path(args.work_dir), Path(args.out),
               train_model=not args.no_model, partial=args.partial)  # fmt: skip


if __name__ == "__main__":
    main()
