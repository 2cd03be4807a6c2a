"""Meta-feature speed: ``recommender.metafeatures`` vs pymfe, and a 1M-row describe.

Part 1 (same run, same data, both limited to one BLAS/OpenMP thread): a mixed table
(40 numeric, 10 nominal columns, 3 classes) described by us (every tabular group) and
by pymfe computing the same features:

* on all rows: nr_inst, nr_attr, nr_num, nr_cat, nr_bin, nr_class, attr_to_inst,
  freq_class, mean, sd, skewness, kurtosis (method 2 = our G1/G2), attr_ent, mut_inf,
  class_ent, eq_num_attr, ns_ratio (numeric attributes binned, as our Binned*) and t4
  (PCA; ours uses a 20,000-row sample);
* landmarkers one_nn, naive_bayes, best_node on the same 2,000-row sample ours uses
  (pymfe cannot sample below half the rows itself).

Part 2: a Parquet file of 1,000,000 x 100 (90 numeric, 10 nominal, binary target) is
described in a fresh process, once read whole and once with ``max_rows`` streaming;
each reports wall time and the child's peak RSS.

    python -m pipelines.bench.bench_metafeatures --rows 100000 --scale-rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]  # the child runs as a module from here

PYMFE_FULL = [
    "nr_inst", "nr_attr", "nr_num", "nr_cat", "nr_bin", "nr_class", "attr_to_inst",
    "freq_class", "mean", "sd", "skewness", "kurtosis", "attr_ent", "mut_inf",
    "class_ent", "eq_num_attr", "ns_ratio", "t4",
]  # fmt: skip
PYMFE_LANDMARKERS = ["one_nn", "naive_bayes", "best_node"]
SUMMARIES = ["min", "max", "mean", "median", "quantiles"]


def mixed_table(n: int, n_num: int, n_cat: int, seed: int = 0) -> pd.DataFrame:
    """Numeric columns of varied scale and shape, nominal columns of 2-7 levels."""
    rng = np.random.default_rng(seed)
    y = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    shift = (y == "b") * 0.5 + (y == "c") * 1.0
    data: dict[str, np.ndarray] = {}
    for i in range(n_num):
        base = rng.normal(size=n) if i % 2 else rng.exponential(size=n)
        data[f"num{i}"] = (base + shift * (i % 3)) * (i + 1)
    for i in range(n_cat):
        levels = np.array(list("abcdefg")[: 2 + i % 6])
        data[f"cat{i}"] = rng.choice(levels, size=n)
    data["target"] = y
    return pd.DataFrame(data)


def time_ours(frame: pd.DataFrame, repeats: int) -> tuple[float, dict[str, float]]:
    from recommender.datasets.loading import dataset_from_frame
    from recommender.metafeatures import compute_metafeatures

    ds = dataset_from_frame(frame, "target")
    compute_metafeatures(dataset_from_frame(frame.head(500), "target"))  # warm imports
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = compute_metafeatures(ds)
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result.features


def landmarker_rows(frame: pd.DataFrame) -> np.ndarray:
    """The 2,000 rows our landmarkers use, so pymfe gets the same sample."""
    from recommender.datasets.loading import dataset_from_frame
    from recommender.metafeatures import MAX_ROWS
    from recommender.metafeatures.prepare import canonical_subsample, prepare, row_hashes

    table = prepare(dataset_from_frame(frame, "target"))
    hashes = row_hashes(table, 0)
    return canonical_subsample(hashes, MAX_ROWS["landmarkers"], table.y_codes)


def time_pymfe(frame: pd.DataFrame, repeats: int) -> tuple[float, float, dict[str, float]]:
    """Best of ``repeats`` for each part, like :func:`time_ours`."""
    runs = [_pymfe_once(frame) for _ in range(repeats)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[-1][2]


def _pymfe_once(frame: pd.DataFrame) -> tuple[float, float, dict[str, float]]:
    from pymfe.mfe import MFE

    X = frame.drop(columns="target").to_numpy(dtype=object)
    y = frame["target"].to_numpy()
    cat_cols = [i for i, c in enumerate(frame.columns[:-1]) if c.startswith("cat")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        mfe = MFE(groups="all", features=PYMFE_FULL, summary=SUMMARIES, random_state=0)
        mfe.fit(X, y, cat_cols=cat_cols, transform_cat=None, precomp_groups=None)
        names, values = mfe.extract(skewness={"method": 2}, kurtosis={"method": 2})
        full = time.perf_counter() - start
        rows = landmarker_rows(frame)
        start = time.perf_counter()
        lm = MFE(groups="all", features=PYMFE_LANDMARKERS, summary=["mean"], random_state=0)
        lm.fit(X[rows], y[rows], cat_cols=cat_cols, precomp_groups=None)
        lm_names, lm_values = lm.extract()
        landmark = time.perf_counter() - start
    out = dict(zip(names + lm_names, map(float, values + lm_values), strict=True))
    return full, landmark, out


def agreement(ours: dict[str, float], ref: dict[str, float]) -> dict[str, float]:
    """Relative differences of a few features both compute (a sanity check)."""
    pairs = {
        "MeanMeansOfNumericAtts": "mean.mean",
        "MaxStdDevOfNumericAtts": "sd.max",
        "MeanSkewnessOfNumericAtts": "skewness.mean",
        "MeanKurtosisOfNumericAtts": "kurtosis.mean",
        "MeanBinnedAttributeEntropy": "attr_ent.mean",
        "MeanBinnedMutualInformation": "mut_inf.mean",
    }
    return {k: abs(ours[k] - ref[v]) / max(abs(ref[v]), 1e-12) for k, v in pairs.items()}


def write_scale_file(path: Path, n: int, n_num: int, n_cat: int, chunk: int = 100_000) -> None:
    """Write the big table in chunks, so the writer never holds it whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, n, chunk):
        part = mixed_table(min(chunk, n - start), n_num, n_cat, seed=start)
        part["target"] = (part["target"] == "a").astype(np.int64)
        table = pa.Table.from_pandas(part, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def describe_child(path: str, max_rows: int | None) -> None:
    """Run in a fresh process: load + describe, print seconds and peak RSS as JSON."""
    from threadpoolctl import threadpool_limits

    from recommender.datasets.loading import load_dataset
    from recommender.metafeatures import compute_metafeatures

    with threadpool_limits(limits=1):
        start, cpu_start = time.perf_counter(), time.process_time()
        ds = load_dataset(path, "target", max_rows=max_rows)
        loaded = time.perf_counter() - start
        result = compute_metafeatures(ds)
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    info = {
        "max_rows": max_rows,
        "rows_described": len(ds.X),
        "load_s": round(loaded, 2),
        "total_s": round(total, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mib": round(peak_mib),
        "NumberOfInstances": result.features["NumberOfInstances"],
    }
    print(json.dumps(info))


def run_child(path: Path, max_rows: int | None) -> dict[str, object]:
    args = [sys.executable, "-m", "pipelines.bench.bench_metafeatures", "--child", str(path)]
    if max_rows:
        args += ["--child-max-rows", str(max_rows)]
    out = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--scale-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2, help="Best of this many, both.")
    parser.add_argument("--skip-pymfe", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-max-rows", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        describe_child(args.child, args.child_max_rows)
        return
    from threadpoolctl import threadpool_limits

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    frame = mixed_table(args.rows, 40, 10)
    with threadpool_limits(limits=1):
        ours_s, ours = time_ours(frame, args.repeats)
        print(
            f"ours  {args.rows} x 50, all tabular groups: {ours_s:.2f} s (best of {args.repeats})"
        )
        if not args.skip_pymfe:
            full_s, lm_s, ref = time_pymfe(frame, args.repeats)
            total = full_s + lm_s
            print(
                f"pymfe same features: {full_s:.2f} s full-data groups + {lm_s:.2f} s landmarkers"
            )
            print(f"ratio pymfe / ours: {total / ours_s:.1f}x")
            diffs = agreement(ours, ref)
            print("relative differences on shared features:", json.dumps(diffs))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.parquet"
        start = time.perf_counter()
        write_scale_file(path, args.scale_rows, 90, 10)
        print(f"wrote {args.scale_rows} x 100 Parquet in {time.perf_counter() - start:.1f} s")
        for max_rows in (None, 100_000):
            print("describe", json.dumps(run_child(path, max_rows)))


if __name__ == "__main__":
    main()
