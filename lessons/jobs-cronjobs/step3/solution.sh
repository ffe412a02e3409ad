#!/usr/bin/env bash
# Step 3: "minuteur" is stopped by activeDeadlineSeconds (DeadlineExceeded);
# a TTL added to the long-finished Job "salut" (step 1) makes the
# TTL-after-finished controller delete it at once.
set -euo pipefail

kubectl apply -f - <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: minuteur
spec:
  activeDeadlineSeconds: 5
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: minuteur
        image: busybox:1.36
        command: ["sh", "-c", "sleep 60"]
EOF
kubectl patch job salut -p '{"spec":{"ttlSecondsAfterFinished":10}}'
kubectl wait --for=condition=FailureTarget job/minuteur --timeout=60s
kubectl get jobs
