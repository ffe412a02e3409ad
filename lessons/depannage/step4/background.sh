#!/usr/bin/env bash
# Step 4 breaks: the Deployment "boutique" takes its currency from the ConfigMap "boutique-config",
# which does not exist: its container waits in CreateContainerConfigError. Left alone when
# "boutique" already exists (coming back to the page).
set -euo pipefail

kubectl get deployment boutique >/dev/null 2>&1 && exit 0
kubectl apply -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: boutique
spec:
  replicas: 1
  selector:
    matchLabels:
      app: boutique
  template:
    metadata:
      labels:
        app: boutique
    spec:
      containers:
      - name: boutique
        image: busybox:1.36
        command: ["sh", "-c", "echo Prix affichés en $DEVISE ; sleep 3600"]
        env:
        - name: DEVISE
          valueFrom:
            configMapKeyRef:
              name: boutique-config
              key: devise
YAML
# The step begins once the kubelet has said why the container cannot be created.
for _ in $(seq 1 60); do
  kubectl get pods -l app=boutique -o jsonpath='{.items[*].status.containerStatuses[*].state.waiting.reason}' |
    grep -q CreateContainerConfigError && exit 0
  sleep 0.5
done
echo "the Pod of boutique did not wait in CreateContainerConfigError" >&2
exit 1
