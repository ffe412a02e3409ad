#!/usr/bin/env bash
# Step 1: the learner's Job "salut" prints a message containing "Salut".
set -euo pipefail

kubectl apply -f - <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: salut
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: salut
        image: busybox:1.36
        command: ["sh", "-c", "echo Salut tout le monde !"]
EOF
kubectl wait --for=condition=complete job/salut --timeout=60s
kubectl logs job/salut
