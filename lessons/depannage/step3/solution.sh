#!/usr/bin/env bash
# Step 3: lower calcul's CPU request to what a node has, and drop rapide's nodeSelector that no node
# matches; the scheduler then places both Pods.
set -euo pipefail

kubectl set resources deployment/calcul --requests=cpu=100m
kubectl patch deployment rapide --type=json \
  -p '[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]'
kubectl rollout status deployment/calcul --timeout=60s
kubectl rollout status deployment/rapide --timeout=60s
kubectl get pods -l 'app in (calcul,rapide)' -o wide
