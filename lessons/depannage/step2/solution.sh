#!/usr/bin/env bash
# Step 2: the crash's cause, read with logs --previous, is the missing PORT variable: set it in place.
set -euo pipefail

kubectl logs deployment/api --previous || true
kubectl set env deployment/api PORT=8080
kubectl rollout status deployment/api --timeout=60s
kubectl logs deployment/api
