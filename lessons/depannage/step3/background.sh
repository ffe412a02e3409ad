#!/usr/bin/env bash
# Step 3 breaks: two Deployments whose Pods no node can take, so they stay Pending: "calcul" asks
# for 64 CPUs, "rapide" for a node labelled disktype=ssd, which the cluster does not have. Each is
# left alone when it already exists (coming back to the page).
set -euo pipefail

kubectl get deployment calcul >/dev/null 2>&1 || kubectl apply -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: calcul
spec:
  replicas: 1
  selector:
    matchLabels:
      app: calcul
  template:
    metadata:
      labels:
        app: calcul
    spec:
      containers:
      - name: calcul
        image: busybox:1.36
        command: ["sh", "-c", "echo Calcul en cours ; sleep 3600"]
        resources:
          requests:
            cpu: "64"
            memory: 128Mi
YAML
kubectl get deployment rapide >/dev/null 2>&1 || kubectl apply -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rapide
spec:
  replicas: 1
  selector:
    matchLabels:
      app: rapide
  template:
    metadata:
      labels:
        app: rapide
    spec:
      nodeSelector:
        disktype: ssd
      containers:
      - name: rapide
        image: busybox:1.36
        command: ["sh", "-c", "echo Prêt à aller vite ; sleep 3600"]
YAML
# The step begins once the scheduler has said why: each Pod has its PodScheduled=False condition.
for _ in $(seq 1 60); do
  n=$(kubectl get pods -l 'app in (calcul,rapide)' \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="PodScheduled")].reason}{"\n"}{end}' | grep -c Unschedulable || true)
  [ "$n" -ge 2 ] && exit 0
  sleep 0.5
done
echo "the Pods of calcul and rapide were not reported unschedulable" >&2
exit 1
