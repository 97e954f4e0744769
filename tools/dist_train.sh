#!/usr/bin/env bash
# Distributed training with torchrun (GPU: NCCL; CPU-only machines: gloo).
# Usage: bash tools/dist_train.sh CONFIG NGPUS [train.py flags...]
# Multi-node: NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 on node 0,
#             the same with NODE_RANK=1 on node 1.
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

# $PYTHON, an activated env's python, or the repository's .venv.
source "$(dirname "$0")/find_python.sh"

PYTHONPATH="$ROOT":$PYTHONPATH \
"$PYTHON" -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    $(dirname "$0")/train.py \
    $CONFIG \
    --launcher pytorch ${@:3}
