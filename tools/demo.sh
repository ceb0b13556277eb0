#!/usr/bin/env bash
# The synthetic demo (README, "The synthetic demo"): install, generate SynthReID under data/ on first
# use, train a small ResNet-18-IBN-a from scratch on style A and test it on the unseen style B (and on A's own test split).
# Extra arguments go to tools/train.py (e.g. --work-dir DIR, --cfg-options ...; --resume or --fresh
# to run the demo again on the same work dir).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
. .venv/bin/activate
CONFIG=${DEMO_CONFIG:-configs/demo/bot_r18_synthreid.py}
python tools/train.py "$CONFIG" --work-dir "${DEMO_WORK_DIR:-work_dirs/demo}" "$@"
