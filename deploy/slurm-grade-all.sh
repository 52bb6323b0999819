#!/usr/bin/env bash
# Grade a class as a Slurm array job: each array task grades every N-th submission, then one dependent job
# merges the shards into grades.csv. Every task writes into one OUT on a shared filesystem (each student's
# folder is written by exactly one task; the reference cache is shared safely: write-then-rename).
#
#   sbatch --array=0-7 deploy/slurm-grade-all.sh SUBMISSIONS OUT      # 8 shards
#   sbatch --dependency=afterany:<array job id> --wrap "cd $PWD && .venv/bin/python -m autograder merge OUT"
#
# A task killed by Slurm (time limit, preemption) leaves no fake result: resubmit the same array and every
# finished student is skipped (grade-all is resumable). Run from the repository root (the grader's checkout).
#SBATCH --job-name=grade-all
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --time=02:00:00
#SBATCH --output=grade-all-%A_%a.log
set -euo pipefail
SUBMISSIONS=${1:?usage: sbatch --array=0-N deploy/slurm-grade-all.sh SUBMISSIONS OUT}
OUT=${2:?usage: sbatch --array=0-N deploy/slurm-grade-all.sh SUBMISSIONS OUT}
export HF_HUB_OFFLINE=1 PRETRAINING_DEVICE=${PRETRAINING_DEVICE:-cpu} OMP_NUM_THREADS=1
# Two cores per submission being graded (the student's worker and the reference's).
JOBS=$(( ${SLURM_CPUS_PER_TASK:-2} / 2 > 0 ? ${SLURM_CPUS_PER_TASK:-2} / 2 : 1 ))
.venv/bin/python -m autograder grade-all "$SUBMISSIONS" --out "$OUT" --jobs "$JOBS" \
  --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}"
# The last task to finish may merge too (merge is idempotent; the dependent job above is the sure way):
# .venv/bin/python -m autograder merge "$OUT"
