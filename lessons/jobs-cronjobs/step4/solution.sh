#!/usr/bin/env bash
# Step 4: "conversion" needs 4 successes, starts one Pod at a time, and its
# parallelism is raised to 2 while it runs.
set -euo pipefail

kubectl apply -f - <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: conversion
spec:
  completions: 4
  parallelism: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: conversion
        image: busybox:1.36
        command: ["sh", "-c", "echo Conversion par $HOSTNAME ; sleep 5"]
EOF
sleep 2
kubectl patch job conversion -p '{"spec":{"parallelism":2}}'
kubectl wait --for=condition=complete job/conversion --timeout=90s
kubectl get pods --selector=job-name=conversion
