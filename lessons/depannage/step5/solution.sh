#!/usr/bin/env bash
# Step 5: a failed Job never runs again and its template is immutable: delete both Jobs and create
# them again, fixed (the command's typo; a deadline the backup fits in).
set -euo pipefail

kubectl delete job import sauvegarde
kubectl apply -f - <<'YAML'
apiVersion: batch/v1
kind: Job
metadata:
  name: import
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: import
        image: busybox:1.36
        command: ["sh", "-c", "echo Import des clients terminé"]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: sauvegarde
spec:
  activeDeadlineSeconds: 30
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: sauvegarde
        image: busybox:1.36
        command:
        - sh
        - -c
        - echo Sauvegarde en cours… ; sleep 8 ; echo Sauvegarde terminée
YAML
kubectl wait --for=condition=complete job/import job/sauvegarde --timeout=60s
kubectl logs job/import
kubectl logs job/sauvegarde
