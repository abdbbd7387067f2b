#!/usr/bin/env bash
# Install touchhub into .venv, create the SQLite store (with demo data the first time)
# and run the hub on 127.0.0.1. Extra arguments go to `touchhub serve` (e.g. --port 9090).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
[ -f touchhub.toml ] || .venv/bin/touchhub init
exec .venv/bin/touchhub serve "$@"
