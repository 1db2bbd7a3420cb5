#!/usr/bin/env bash
# npm test: install what is missing, check types, lint and generated code, then run every test
# suite against a real nats-server and a real PostgreSQL (reused, started or installed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
export TURBO_TELEMETRY_DISABLED=1
echo "[test] typecheck"
npx tsc -p tsconfig.json
echo "[test] lint"
npx biome check --error-on-warnings .
# Declared dependencies that nothing imports (and imports that nothing declares) fail here.
npx knip --dependencies --no-progress
bash scripts/check-generated.sh
echo "[test] test suites"
exec node --import tsx deploy/local/src/run-tests.ts "$@"
