#!/bin/bash
# One ganlab run over several machines with Slurm: srun starts one torchrun per node, torchrun
# starts one rank per GPU, and the ranks meet at the first node (c10d rendezvous). --batch-size is
# the global batch (split evenly over all ranks); rank 0 alone writes the run folder, so put
# --runs-dir on a file system every node sees if you want to resume a run there after a restart.
#
#   sbatch examples/slurm_ddp.sh
#
# --max-restarts: when a rank dies (a node lost, an OOM kill), torchrun restarts the whole group,
# which resumes from checkpoints/last.pt; a fixed --name lets the restarted group find the run.

#SBATCH --job-name=ganlab-ddp
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1          # one torchrun per node; it starts the ranks
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=32
#SBATCH --time=04:00:00
#SBATCH --output=%x-%j.out

set -euo pipefail

GPUS_PER_NODE=4
HEAD=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
PORT=29500

srun torchrun \
  --nnodes "$SLURM_NNODES" \
  --nproc-per-node "$GPUS_PER_NODE" \
  --rdzv-backend c10d \
  --rdzv-endpoint "$HEAD:$PORT" \
  --rdzv-id "$SLURM_JOB_ID" \
  --max-restarts 3 \
  -m ganlab -- train \
    --loss wgan-gp --arch resnet --data cifar10 --data-root /shared/datasets \
    --image-size 64 --batch-size 512 --steps 100000 \
    --checkpoint-every 1000 --eval-every 5000 \
    --runs-dir /shared/runs --name "cifar64-$SLURM_JOB_ID"
