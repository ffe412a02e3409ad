#!/usr/bin/env bash
# Step 1: fix the image's typo in place; the Deployment rolls out a Pod that pulls nginx:1.27.
set -euo pipefail

kubectl set image deployment/web nginx=nginx:1.27
kubectl rollout status deployment/web --timeout=60s
kubectl get pods -l app=web
