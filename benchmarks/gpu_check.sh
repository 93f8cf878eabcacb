#!/usr/bin/env bash
# One short check on a CUDA machine, for sessions that are lent one: the digits objective's
# speed on the GPU, a GPU worker serving a real search through the test database, one cifar10
# trial on synthetic data of the real shape (50,000 x 3x32x32; eager, then torch.compile) with
# its images per second beside a plain DataLoader loop, and a real CUDA out-of-memory error
# becoming a failed trial with the memory given back. Exits non-zero when any check fails;
# sized to finish within 5 minutes on one H100 (each step has its own time limit).
# Needs: python3 with torch, hyperopt, pymongo; .build/hpsearch-testdb (make testdb). A GPU
# image without hyperopt/pymongo/dnspython can take them as wheels on PYTHONPATH.
# GPU_CHECK_COMPILE=0 skips the torch.compile trial (the slowest step, mostly compilation).
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
section() { echo "== $* (at ${SECONDS} s)"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || fail "nvidia-smi"

section "train speed on cuda"
timeout 90 python3 benchmarks/train_speed.py --device cuda --epochs 20 --repeats 5 \
  || fail "digits train speed"

section "a GPU worker serving a 30-trial search"
data=$(mktemp -d)
.build/hpsearch-testdb -listen-addr 127.0.0.1:27999 -state-dir "$data" & db=$!
sleep 2
url=mongodb://127.0.0.1:27999/gpucheck
python3 -m search worker --store "$url" --gpus all --idle-timeout 30 & worker=$!
timeout 150 python3 -m search search --store "$url" --exp-key gpu --max-evals 30 --epochs 20 \
  --device cuda || fail "the 30-trial search"
python3 -m search status --store "$url" || fail "status"
python3 -m search best --store "$url" --exp-key gpu -n 5 --format csv || fail "best"
kill -TERM "$worker"; wait "$worker"; code=$?; echo "worker exit code $code"
[ "$code" -eq 0 ] || fail "the worker exited with $code"
kill "$db"

section "one cifar10 trial, synthetic 50,000 x 3x32x32, 8 epochs (eager)"
timeout 120 python3 benchmarks/vision_trial.py --objective cifar10 --device cuda --epochs 8 \
  || fail "the cifar10 trial"

if [ "${GPU_CHECK_COMPILE:-1}" != 0 ]; then
  section "the same trial with torch.compile (compile time reported apart)"
  timeout 150 python3 benchmarks/vision_trial.py --objective cifar10 --device cuda --epochs 8 \
    --compile || fail "the compiled cifar10 trial"
fi

section "cifar10 images per second: ours beside a plain DataLoader loop"
timeout 90 python3 benchmarks/train_speed.py --objective cifar10 --device cuda --train-size 10000 \
  --epochs 1 --repeats 2 || fail "the cifar10 train speed comparison"

section "a real CUDA out-of-memory error"
timeout 60 python3 - <<'PY' || fail "the out-of-memory check"
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
after = torch.cuda.memory_allocated()
print("status", result["status"], "reason", result.get("reason"), "device", result.get("device"))
print("allocated before", before, "after", after)
assert result["status"] == "fail", result
assert result["reason"] == "out of memory", result
assert after <= before, f"the failed trial kept {after - before} bytes of GPU memory"
PY

section "done"
if [ "$failures" -ne 0 ]; then echo "gpu_check: $failures check(s) FAILED"; exit 1; fi
echo "gpu_check: all checks passed"
