#!/usr/bin/env bash
# One short check on a CUDA machine, for sessions that are lent one: the digits objective's
# speed on the GPU, a GPU worker serving a real search through the test database, and a real
# CUDA out-of-memory error becoming a failed trial with the memory given back.
# Needs: python3 with torch, hyperopt, pymongo; .build/hpsearch-testdb (make testdb). A GPU
# image without hyperopt/pymongo/dnspython can take them as wheels on PYTHONPATH.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv

echo "== train speed on cuda"
python3 benchmarks/train_speed.py --device cuda --epochs 20 --repeats 5

echo "== a GPU worker serving a 30-trial search"
data=$(mktemp -d)
.build/hpsearch-testdb -listen-addr 127.0.0.1:27999 -state-dir "$data" & db=$!
sleep 2
url=mongodb://127.0.0.1:27999/gpucheck
python3 -m search worker --store "$url" --gpus all --idle-timeout 30 & worker=$!
python3 -m search search --store "$url" --exp-key gpu --max-evals 30 --epochs 20 --device cuda
python3 -m search status --store "$url"
python3 -m search best --store "$url" --exp-key gpu -n 5 --format csv
kill -TERM "$worker"; wait "$worker"; echo "worker exit code $?"
kill "$db"

echo "== a real CUDA out-of-memory error"
python3 - <<'PY'
import torch
import objectives

def allocates_too_much(params, trial):
    with trial.timed():
        kept = torch.empty(2**30, device=trial.device)           # 4 GiB that must be freed
        torch.empty(2**45, device=trial.device)                  # 128 TiB: fails
    return {"accuracy": 1.0}

objective = objectives.Objective(name="oom", description="", run=allocates_too_much, warm_up=None)
before = torch.cuda.memory_allocated()
result = objectives.run_trial(objective, {}, objectives.TrialSettings(device="cuda"))
print("status", result["status"], "reason", result.get("reason"), "device", result.get("device"))
print("allocated before", before, "after", torch.cuda.memory_allocated())
PY
