#!/usr/bin/env bash
# Writes .env for docker-compose.yml with fresh random secrets (never committed: .gitignore).
# Usage: deploy/docker/gen-env.sh [path, default .env]; refuses to overwrite an existing file.
set -euo pipefail
out="${1:-.env}"
if [ -e "$out" ]; then
  echo "$out exists; remove it first to generate new secrets" >&2
  exit 1
fi
# nats-server parses a variable's value as config: start with a letter, letters and digits only.
secret() { printf 't%s' "$(openssl rand -hex 24)"; }
umask 077
cat >"$out" <<ENV
TAILOR_POSTGRES_PASSWORD=$(secret)
TAILOR_INGESTION_NATS_PASSWORD=$(secret)
TAILOR_EMBEDDING_NATS_PASSWORD=$(secret)
TAILOR_RETRIEVAL_NATS_PASSWORD=$(secret)
TAILOR_MODEL_SERVER_NATS_PASSWORD=$(secret)
TAILOR_REGISTRY_NATS_PASSWORD=$(secret)
TAILOR_TRAINER_NATS_PASSWORD=$(secret)
TAILOR_EVALUATOR_NATS_PASSWORD=$(secret)
TAILOR_GUARD_NATS_PASSWORD=$(secret)
TAILOR_INFERENCE_GATEWAY_NATS_PASSWORD=$(secret)
TAILOR_ADMIN_NATS_PASSWORD=$(secret)
TAILOR_MODEL_SERVER_ADMIN_TOKEN=$(secret)
TAILOR_INFERENCE_GATEWAY_ADMIN_TOKEN=$(secret)
ENV
echo "wrote $out (mode 600)"
