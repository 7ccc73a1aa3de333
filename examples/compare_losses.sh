#!/usr/bin/env bash
# Which of the three built-in losses trains DCGAN on digits, and how reliably?
# Trains minimax, nonsaturating and lsgan over 3 seeds each (9 runs) under runs/$STUDY/,
# evaluates them, prints the comparison table and writes a markdown copy, training curves
# and the final sample grids next to the runs.
#
# Run it again and it trains nothing: identical runs are reused, an interrupted study resumes.
# Sizes are environment variables; the defaults finish in about 10 minutes on 2 CPU cores
# shared with other jobs (9 runs x 800 steps at ~17 steps/s, then the evaluations):
#   STEPS=800 SEEDS=3 IMAGE_SIZE=16 WIDTH=32 BATCH_SIZE=64 STUDY=losses-digits RUNS_DIR=runs
# The default `ganlab train` job's size (16 px, width 64, 1500 steps): STEPS=1500 WIDTH=64 STUDY=losses-digits-full
set -euo pipefail

STEPS="${STEPS:-800}"
SEEDS="${SEEDS:-3}"
IMAGE_SIZE="${IMAGE_SIZE:-16}"
WIDTH="${WIDTH:-32}"
BATCH_SIZE="${BATCH_SIZE:-64}"
STUDY="${STUDY:-losses-digits}"
RUNS_DIR="${RUNS_DIR:-runs}"
GANLAB="${GANLAB:-ganlab}"
# One intra-op thread: on 2 busy cores two torch threads mostly wait for each other (measured
# here: 1.7 steps/s with 2 threads, 15.8 with 1, same config, same numbers out).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

out="$RUNS_DIR/$STUDY"
$GANLAB compare \
    --loss minimax --loss nonsaturating --loss lsgan \
    --arch dcgan --data digits --seeds "$SEEDS" --steps "$STEPS" \
    --image-size "$IMAGE_SIZE" --arch-opt "width=$WIDTH" --batch-size "$BATCH_SIZE" \
    --study "$STUDY" --runs-dir "$RUNS_DIR" \
    --plot "$out/curves.png" --grid "$out/samples.png"

# The same table as markdown, for a README or a paper draft (everything is reused: no training).
$GANLAB compare "$out" --format markdown > "$out/table.md"
echo "markdown table: $out/table.md"
