#!/usr/bin/env bash
# Step 2 breaks: the Deployment "api" needs the variable PORT, which it is not given: its container
# prints an error, exits with code 1 and is restarted in CrashLoopBackOff. Left alone when "api"
# already exists (coming back to the page).
set -euo pipefail

kubectl get deployment api >/dev/null 2>&1 && exit 0
kubectl apply -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
      - name: api
        image: busybox:1.36
        command:
        - sh
        - -c
        - |
          echo "Démarrage de l'API…"
          if [ -z "$PORT" ]; then
            echo "ERREUR : la variable PORT n'est pas définie" >&2
            exit 1
          fi
          echo "API à l'écoute sur le port $PORT"
          sleep 3600
YAML
for _ in $(seq 1 60); do
  [ -n "$(kubectl get pods -l app=api -o name)" ] && exit 0
  sleep 0.5
done
echo "the Pod of api did not appear" >&2
exit 1
