#!/usr/bin/env bash
# Step 1 breaks: the Deployment "web" names the image "ngnix" (a typo of nginx), so its Pod stays in
# ErrImagePull, then ImagePullBackOff. Left alone when "web" already exists (coming back to the page).
set -euo pipefail

kubectl get deployment web >/dev/null 2>&1 && exit 0
kubectl apply -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: ngnix:1.27
        ports:
        - containerPort: 80
YAML
# The step begins once the Pod exists, so that its first pull failure is there to be read.
for _ in $(seq 1 60); do
  [ -n "$(kubectl get pods -l app=web -o name)" ] && exit 0
  sleep 0.5
done
echo "the Pod of web did not appear" >&2
exit 1
