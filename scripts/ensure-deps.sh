#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or older than the lock file.
# onnxruntime-node's install step would try to download CUDA libraries: skip it (CPU binaries ship in the package).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1; then
  echo "Node.js 20 or newer is required (https://nodejs.org or apt-get install nodejs)" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "Node.js $(node --version) is too old: 20 or newer is required" >&2
  exit 1
fi
stamp=node_modules/.tailor-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "[setup] installing npm dependencies (npm ci)"
  export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
