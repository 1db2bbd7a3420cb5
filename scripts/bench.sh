#!/usr/bin/env bash
# npm run bench -- <name>: run one benchmark (ingest, search, quality, embedder, guard, ...); prints JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh >&2
name=${1:-}
if [ -z "$name" ] || [ ! -f "bench/src/$name.ts" ]; then
  echo "usage: npm run bench -- <name>; one of: $(ls bench/src/*.ts | xargs -n1 basename | sed 's/\.ts$//' | tr '\n' ' ')" >&2
  exit 2
fi
shift
export TAILOR_LOG_LEVEL=${TAILOR_LOG_LEVEL:-warn}
exec node --import tsx "bench/src/$name.ts" "$@"
