#!/usr/bin/env bash
# Step 7 breaks a rollout: version 1 of the Deployment "vitrine" (2 replicas) is rolled out, then
# version 2, whose readiness probe reads a file the container never writes: its new Pod never
# becomes Ready, the rollout stops there and exceeds its 30 s progress deadline. Left alone when
# "vitrine" already exists (coming back to the page).
set -euo pipefail

kubectl get deployment vitrine >/dev/null 2>&1 && exit 0
manifest() { # $1: version, $2: the file the readiness probe reads
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vitrine
spec:
  replicas: 2
  progressDeadlineSeconds: 30
  selector:
    matchLabels:
      app: vitrine
  template:
    metadata:
      labels:
        app: vitrine
    spec:
      containers:
      - name: vitrine
        image: busybox:1.36
        command: ["sh", "-c", "echo Vitrine version \$VERSION ; touch /tmp/pret ; sleep 3600"]
        env:
        - name: VERSION
          value: "$1"
        readinessProbe:
          exec:
            command: ["cat", "$2"]
          periodSeconds: 2
YAML
}
manifest 1 /tmp/pret | kubectl apply -f -
kubectl rollout status deployment/vitrine --timeout=90s
manifest 2 /tmp/prete | kubectl apply -f -
# The step begins once the new Pod is there, not ready.
for _ in $(seq 1 60); do
  [ "$(kubectl get deployment vitrine -o jsonpath='{.status.updatedReplicas}')" = "1" ] && exit 0
  sleep 0.5
done
echo "the rollout of vitrine version 2 did not start" >&2
exit 1
