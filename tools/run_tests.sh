#!/usr/bin/env bash
# Install (if needed) and run the test suite: bash tools/run_tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
. .venv/bin/activate
python -m pytest -q "$@"
