#!/usr/bin/env bash
# LCBench, black-box through the CLI: reshape, ingest, import the space, retrain, evaluate.
# Usage: pipelines/bench/bench_lcbench.sh [LCBENCH_DIR] [WORK_DIR]
# Protocol (LCBench README): val_balanced_accuracy at epoch 52, leave-one-task-out.
set -euo pipefail
LC="${1:-../shared/benchmarks/lcbench}"
WORK="${2:-$(mktemp -d)}"
mkdir -p "$WORK"
export RECOMMENDER_DB="$WORK/store.duckdb"
cd "$(dirname "$0")/../.."

python -m pipelines.bench.lcbench_to_table "$LC/runs.parquet" "$WORK/table.parquet"
recommender ingest "$WORK/table.parquet" --space lcbench
recommender ingest "$LC/metafeatures.csv" --kind metafeatures --task-column task_id
recommender space import "$LC/config_space.json" --name lcbench
/usr/bin/time -f "retrain wall %e s" recommender retrain --space lcbench \
    --metric val_balanced_accuracy --maximize --fidelity 52
/usr/bin/time -f "evaluate wall %e s" recommender evaluate --space lcbench --json \
    > "$WORK/evaluate.json"
python - "$WORK/evaluate.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
mean = report["mean"]
print(f"{len(report['tasks'])} tasks, mean normalised regret (lower is better)")
print(f"{'method':<14}{'top-1':>8}{'top-5':>8}")
for m in ("recommender", "portfolio", "nearest_task"):
    print(f"{m:<14}{mean[m + '_top1']:>8.3f}{mean[m + '_top5']:>8.3f}")
print(f"{'default':<14}{mean['default']:>8.3f}")
for k in (1, 5, 10, 25, 50):
    print(f"{'random best-of-' + str(k):<20}{mean[f'random_{k}']:>8.3f}")
PY
echo "store and evaluate.json in $WORK"
