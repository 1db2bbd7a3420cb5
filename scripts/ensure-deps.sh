#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or older than the lock file.
# onnxruntime-node's install step would try to download CUDA libraries: skip it (CPU binaries ship in the package).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1; then
  echo "Node.js 20.19 or newer is required (https://nodejs.org or apt-get install nodejs)" >&2
  exit 1
fi
# zlib.crc32 needs 20.15 / 22.2; knip (npm run lint) needs 20.19 / 22.12.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a > 22 ? 0 : 1)'; then
  echo "Node.js $(node --version) is too old: 20.19 (or 22.12) or newer is required" >&2
  exit 1
fi
stamp=node_modules/.tailor-installed
# npm rewrites node_modules/.package-lock.json on every install: newer than the lock file means
# an `npm install` already brought node_modules up to date.
if [ -f "$stamp" ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  touch "$stamp"
fi
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "[setup] installing npm dependencies (npm ci)"
  export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
# `tailor` runs the bundle in cli/dist: (re)build it when missing or older than a source (1–2 s).
if [ ! -f cli/dist/tailor.js ] || [ -n "$(find cli/src cli/package.json libs/*/src -newer cli/dist/tailor.js -print -quit)" ]; then
  echo "[setup] bundling the tailor CLI (cli/dist)"
  node cli/scripts/build.mjs
fi
