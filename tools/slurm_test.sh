#!/usr/bin/env bash
# Testing on a Slurm cluster.
# Usage: bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [flags]
set -x

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PY_ARGS=${@:5}

# Python: $PYTHON; else `python` of an activated virtualenv/conda env; else
# the repository's .venv (made by `make install`); else `python` on PATH.
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "$PYTHON$VIRTUAL_ENV$CONDA_PREFIX" ] \
        && [ -x "$ROOT/.venv/bin/python" ]; then
    PYTHON="$ROOT/.venv/bin/python"
fi
PYTHON=${PYTHON:-python}

PYTHONPATH="$ROOT":$PYTHONPATH \
srun -p ${PARTITION} \
    --job-name=${JOB_NAME} \
    --gres=gpu:${GPUS_PER_NODE} \
    --ntasks=${GPUS} \
    --ntasks-per-node=${GPUS_PER_NODE} \
    --cpus-per-task=${CPUS_PER_TASK} \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$ROOT"/tools/test.py ${CONFIG} ${CHECKPOINT} --launcher="slurm" \
    ${PY_ARGS}
