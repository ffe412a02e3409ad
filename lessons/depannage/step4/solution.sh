#!/usr/bin/env bash
# Step 4: create the ConfigMap the Pod waits for; the kubelet's next try starts the same Pod.
set -euo pipefail

kubectl describe pod -l app=boutique | grep -A1 'Reason:' || true
kubectl create configmap boutique-config --from-literal=devise=EUR
kubectl wait --for=condition=available deployment/boutique --timeout=60s
kubectl logs deployment/boutique
