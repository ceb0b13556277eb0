#!/usr/bin/env bash
# Multi-node GPU training under Slurm: one task per GPU, started by srun.
#
#   GPUS=16 GPUS_PER_NODE=8 tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
#
# The run always passes --resume: it starts from scratch when WORK_DIR holds no checkpoint, and a
# job that was preempted or requeued (sbatch --requeue) continues from its newest loadable
# checkpoint. PKSampler's batch_size stays the GLOBAL batch (e.g. 64 = 16 ids x 4); each of the
# GPUS processes loads batch_size / GPUS images per step. Environment: GPUS (total, default 8),
# GPUS_PER_NODE (default 8), CPUS_PER_TASK (default 5), SRUN_ARGS (extra srun arguments).
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
shift 4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
# MMEngine's Slurm set-up takes the first node as master; MASTER_PORT picks the port
export MASTER_PORT=${MASTER_PORT:-29500}

# shellcheck disable=SC2086
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    python -u "$(dirname "$0")/train.py" "$CONFIG" --work-dir "$WORK_DIR" --launcher slurm \
    --resume "$@"
