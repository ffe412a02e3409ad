#!/usr/bin/env bash
# Step 5 breaks two Jobs: "import" runs a misspelt command (exit code 127) until its backoffLimit
# (BackoffLimitExceeded); "sauvegarde" needs 8 s but is given 3 (DeadlineExceeded). Each is left
# alone when it already exists (coming back to the page).
set -euo pipefail

kubectl get job import >/dev/null 2>&1 || kubectl apply -f - <<'YAML'
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
        command: ["sh", "-c", "ech Import des clients terminé"]
YAML
kubectl get job sauvegarde >/dev/null 2>&1 || kubectl apply -f - <<'YAML'
apiVersion: batch/v1
kind: Job
metadata:
  name: sauvegarde
spec:
  activeDeadlineSeconds: 3
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
# The step begins once both have failed, so that their reasons are there to be read.
for _ in $(seq 1 120); do
  f=$(kubectl get jobs import sauvegarde -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Failed")].reason}{"\n"}{end}')
  grep -q BackoffLimitExceeded <<<"$f" && grep -q DeadlineExceeded <<<"$f" && exit 0
  sleep 0.5
done
echo "the Jobs import and sauvegarde did not fail as expected: $f" >&2
exit 1
