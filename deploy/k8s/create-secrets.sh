#!/usr/bin/env bash
# Creates the Secrets the manifests read, with fresh random passwords, in namespace tailor:
#   tailor-nats                one password per NATS user of deploy/nats/authorization.conf
#   tailor-model-server-admin  the bearer token of LoadModel/UnloadModel
#   tailor-gateway-admin       the bearer token of GatewayAdminService (`tailor keys`)
#   tailor-postgres            TAILOR_DATABASE_URL (yours: PostgreSQL runs outside this stack)
# Usage: TAILOR_DATABASE_URL="<your postgres:// URL>" deploy/k8s/create-secrets.sh
# Run it once before `kubectl apply -k deploy/k8s`; it refuses to overwrite existing Secrets.
set -euo pipefail
ns="${NAMESPACE:-tailor}"
: "${TAILOR_DATABASE_URL:?set TAILOR_DATABASE_URL to the PostgreSQL URL the services should use}"

# nats-server parses a variable's value as config, so a password starts with a letter
# ("9e5f…" would be read as a number) and holds only letters and digits.
secret() { printf 't%s' "$(openssl rand -hex 24)"; }

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
kubectl -n "$ns" create secret generic tailor-nats \
  --from-literal=ingestion="$(secret)" \
  --from-literal=embedding="$(secret)" \
  --from-literal=retrieval="$(secret)" \
  --from-literal=model-server="$(secret)" \
  --from-literal=registry="$(secret)" \
  --from-literal=trainer="$(secret)" \
  --from-literal=evaluator="$(secret)" \
  --from-literal=guard="$(secret)" \
  --from-literal=inference-gateway="$(secret)" \
  --from-literal=admin="$(secret)"
kubectl -n "$ns" create secret generic tailor-model-server-admin --from-literal=token="$(secret)"
kubectl -n "$ns" create secret generic tailor-gateway-admin --from-literal=token="$(secret)"
kubectl -n "$ns" create secret generic tailor-postgres --from-literal=url="$TAILOR_DATABASE_URL"
echo "created tailor-nats, tailor-model-server-admin, tailor-gateway-admin and tailor-postgres in namespace $ns"
echo "admin token: kubectl -n $ns get secret tailor-model-server-admin -o jsonpath='{.data.token}' | base64 -d"
echo "gateway admin token (tailor keys): kubectl -n $ns get secret tailor-gateway-admin -o jsonpath='{.data.token}' | base64 -d"
