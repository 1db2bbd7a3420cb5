#!/usr/bin/env bash
# npm run up: like the demo, but keep the stack running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node --import tsx deploy/local/src/demo.ts --up "$@"
