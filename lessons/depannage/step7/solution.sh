#!/usr/bin/env bash
# Step 7: roll the stuck version 2 back to version 1 (it becomes revision 3).
set -euo pipefail

kubectl rollout undo deployment/vitrine
kubectl rollout status deployment/vitrine --timeout=60s
kubectl rollout history deployment/vitrine
kubectl get pods -l app=vitrine
kubectl logs deployment/vitrine
