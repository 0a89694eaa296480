#!/usr/bin/env bash
# Install (first time only), then simulate a marketplace and run the whole pipeline on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/compass demo "$@"
