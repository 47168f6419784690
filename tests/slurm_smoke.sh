#!/usr/bin/env bash
# By-hand smoke test of profiles/slurm: bring a one-node SLURM up on localhost (tests/slurm_cluster.py),
# run one GPU job with sbatch and the fixture workflow through the profile, show what SLURM recorded,
# take the cluster down. Needs root (installs slurm-wlm and munge with apt-get if they are missing).
#   tests/slurm_smoke.sh [DIR]        DIR defaults to a new /tmp/slurm-smoke.* folder
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
dir=${1:-$(mktemp -d /tmp/slurm-smoke.XXXXXX)}
mkdir -p "$dir"

"$python" "$repo/tests/slurm_cluster.py" up "$dir/cluster" > "$dir/cluster.out" 2>&1 &
holder=$!
# The holder stops the daemons when it gets SIGTERM.
trap 'kill -TERM "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true' EXIT
until grep -q '^export PATH' "$dir/cluster.out"; do
  kill -0 "$holder" 2>/dev/null || { cat "$dir/cluster.out"; exit 1; }
  sleep 1
done
cat "$dir/cluster.out"
export PATH="$dir/cluster/bin:$PATH" SLURM_CONF="$dir/cluster/etc/slurm.conf"
sinfo

echo "== one GPU job"
sbatch --wait --gpus=1 --output "$dir/gpu-job.out" \
  --wrap 'echo "job $SLURM_JOB_ID on $(hostname): CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"'
cat "$dir/gpu-job.out"

echo "== fixture workflow through profiles/slurm (sizes capped to the node)"
"$python" - "$repo" "$dir/profile" <<'PY'
import sys
sys.path.insert(0, f"{sys.argv[1]}/tests")
import slurm_cluster
slurm_cluster.shrink_profile(f"{sys.argv[1]}/profiles/slurm", sys.argv[2], cpus_per_task=1, mem_mb=1000)
PY
mkdir -p "$dir/run"
(cd "$dir/run" && "$python" -m snakemake --snakefile "$repo/tests/fixtures/slurm_wf/Snakefile" \
  --workflow-profile "$dir/profile" --slurm-status-command squeue \
  --slurm-init-seconds-before-status-checks 2 --quiet rules all)
cat "$dir/run/results/table1.csv"

echo "== what the controller recorded"
scontrol show job --details --oneliner | while read -r job; do
  grep -oE '(JobId|JobState|Comment|JOB_GRES|StartTime|EndTime)=[^ ]*' <<< "$job" | paste -sd ' '
done
echo "files kept in $dir"
