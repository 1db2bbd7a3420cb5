#!/usr/bin/env bash
# npm run demo: install what is missing, start NATS/PostgreSQL (or reuse them) and every service,
# ingest the sections of README.md and docs/*.md, ask five questions, print the answers, stop.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
export TURBO_TELEMETRY_DISABLED=1
exec node --import tsx deploy/local/src/demo.ts "$@"
