#!/usr/bin/env bash
# README's mode-collapse table (issue 15): ring and grid, SEEDS seeds per row, every run
# evaluated on 2,500 samples from fixed z (modes, % high quality, mode KL of all samples and of
# the high-quality ones), then one `ganlab compare` over all of it as JSON, from which
# examples/toy/table.py prints mean ± standard error rows.
#   1. the recipes, examples/toy/ring.toml and grid.toml, as they are;
#   2. PacGAN's protocol (examples/toy/pacgan-*.toml) at --pack 1, 2 and 4 for PACGAN_STEPS
#      iterations (the paper: 400,000; far beyond this machine);
#   3. a `ganlab compare --config` study per pack value: each loss with the recipe's network,
#      batch and learning rate (the recipe file, with --loss, --pack and --steps over it) for
#      LOSS_STEPS iterations, at --pack 1 and 2;
#   4. the critics (wgan-gp, hinge) with their usual settings instead of the recipe's: the WGAN-GP
#      paper's Algorithm 1 (5 D steps per G step, Adam lr 1e-4 held constant, betas 0 and 0.9),
#      for LOSS_STEPS generator steps at --pack 1 and 2; wgan-gp also with the penalty weight
#      0.1 that WGAN-GP's toy experiments use.
# Rerunning trains nothing that exists already (`ganlab train` runs are skipped by folder, studies
# reuse identical runs). Sizes are environment variables; PARTS (recipe pacgan losses critics), DATAS
# (ring grid), PACKS (PacGAN's, 1 2 4) and LOSS_PACKS (1 2) pick what to run. README's table:
#   PARTS=recipe examples/toy/table.sh
#   PARTS=pacgan PACGAN_STEPS=5000 examples/toy/table.sh
#   PARTS=losses LOSS_STEPS=3000 examples/toy/table.sh
#   PARTS=critics LOSS_STEPS=3000 examples/toy/table.sh
set -euo pipefail

SEEDS="${SEEDS:-5}"
PACGAN_STEPS="${PACGAN_STEPS:-5000}"
LOSS_STEPS="${LOSS_STEPS:-5000}"
WORKERS="${WORKERS:-2}"
RUNS_DIR="${RUNS_DIR:-runs/toy-table}"
PARTS="${PARTS:-recipe pacgan losses critics}"
DATAS="${DATAS:-ring grid}"
GANLAB="${GANLAB:-ganlab}"
METRICS=modes_covered,high_quality_pct,mode_kl,mode_kl_hq
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"  # one thread per run: 2 busy cores (see compare_losses.sh)
here="$(dirname "$0")"

train() {  # NAME SEED ARGS...: one run under $RUNS_DIR/single, skipped when it finished before
    local name="$1-s$2" seed="$2"
    shift 2
    local path="$RUNS_DIR/single/$name"
    if [ ! -f "$path/summary.json" ] || ! grep -q '"status": "complete"' "$path/summary.json"; then
        rm -rf "$path"
        $GANLAB train "$@" --seed "$seed" --runs-dir "$RUNS_DIR/single" --name "$name" > /dev/null
    fi
    grep -q '"mode_kl_hq"' "$path/summary.json" || $GANLAB eval "$path" --metrics "$METRICS" > /dev/null
}

# WGAN-GP's Algorithm 1: 5 critic steps per G step, Adam lr 1e-4 held constant, betas (0, 0.9)
CRITIC="--d-steps 5 --lr-g 1e-4 --lr-d 1e-4 --lr-schedule constant --beta1 0 --beta2 0.9"

study() {  # NAME DATA PACK ARGS...: a `ganlab compare` study over SEEDS seeds from DATA's recipe file
    local name="$1" data="$2" pack="$3"
    shift 3
    $GANLAB compare --config "$here/$data.toml" "$@" --seeds "$SEEDS" --steps "$LOSS_STEPS" --pack "$pack" \
        --sample-every "$LOSS_STEPS" --checkpoint-every "$LOSS_STEPS" --metrics "$METRICS" \
        --workers "$WORKERS" --study "$name" --runs-dir "$RUNS_DIR" --format json > /dev/null
}

for data in $DATAS; do
    for seed in $(seq 0 $((SEEDS - 1))); do
        case " $PARTS " in *" recipe "*) train "recipe-$data" "$seed" --config "$here/$data.toml" ;; esac
        case " $PARTS " in *" pacgan "*)
            for pack in ${PACKS:-1 2 4}; do
                train "pacgan$pack-$data-${PACGAN_STEPS}" "$seed" --config "$here/pacgan-$data.toml" \
                    --pack "$pack" --steps "$PACGAN_STEPS"
            done ;;
        esac
    done
    for pack in ${LOSS_PACKS:-1 2}; do
        case " $PARTS " in *" losses "*)
            study "losses-pack$pack-$data-$LOSS_STEPS" "$data" "$pack" \
                --loss minimax --loss nonsaturating --loss lsgan --loss wgan-gp --loss hinge ;;
        esac
        case " $PARTS " in *" critics "*)
            study "critics-pack$pack-$data-$LOSS_STEPS" "$data" "$pack" --loss wgan-gp --loss hinge $CRITIC
            # the penalty weight of WGAN-GP's own toy experiments (gan_toy.py) instead of 10
            study "critics-gp0.1-pack$pack-$data-$LOSS_STEPS" "$data" "$pack" --loss wgan-gp \
                --loss-opt lambda_gp=0.1 $CRITIC ;;
        esac
    done
done

$GANLAB compare "$RUNS_DIR"/single "$RUNS_DIR"/losses-* "$RUNS_DIR"/critics-* --format json > "$RUNS_DIR/table.json"
python "$here/table.py" "$RUNS_DIR/table.json"
