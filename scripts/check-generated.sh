#!/usr/bin/env bash
# Fails when the committed generated code differs from what the protos generate.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"
buf lint
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
buf generate --template '{"version":"v2","plugins":[{"local":"protoc-gen-es","out":"'"$tmp"'","opt":["target=ts","import_extension=js"]}]}'
if ! diff -r "$tmp" libs/proto/src/gen >/dev/null; then
  echo "generated code is stale: run 'npm run generate' and commit libs/proto/src/gen" >&2
  diff -r "$tmp" libs/proto/src/gen | head -20 >&2
  exit 1
fi
echo "[test] generated code is up to date"
