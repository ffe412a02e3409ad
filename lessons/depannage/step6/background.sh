#!/usr/bin/env bash
# Step 6 breaks: the CronJob "purge" should run every minute, but it was left suspended, so it never
# creates a Job. Left alone when "purge" already exists (coming back to the page).
set -euo pipefail

kubectl get cronjob purge >/dev/null 2>&1 && exit 0
kubectl apply -f - <<'YAML'
apiVersion: batch/v1
kind: CronJob
metadata:
  name: purge
spec:
  schedule: "* * * * *"
  suspend: true
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 2
  failedJobsHistoryLimit: 1
  jobTemplate:
    spec:
      backoffLimit: 1
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: purge
            image: busybox:1.36
            command: ["sh", "-c", "echo Purge des fichiers temporaires le $(date)"]
YAML
