#!/usr/bin/env bash
# Step 5: an Indexed Job of 5 completions; each Pod picks its weekday from
# $JOB_COMPLETION_INDEX.
set -euo pipefail

kubectl apply -f - <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: semaine
spec:
  completions: 5
  parallelism: 2
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: rapport
        image: busybox:1.36
        command:
        - sh
        - -c
        - |
          set -- lundi mardi mercredi jeudi vendredi
          shift "$JOB_COMPLETION_INDEX"
          echo "Rapport du $1"
EOF
kubectl wait --for=condition=complete job/semaine --timeout=60s
kubectl logs --selector=job-name=semaine --prefix
