#!/usr/bin/env bash
# Step 2: "casse" fails for good after one retry (Never, backoffLimit 1);
# "tenace" succeeds on its second try because OnFailure restarts the
# container in the same Pod, where the emptyDir keeps the trace file.
set -euo pipefail

kubectl apply -f - <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: casse
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: casse
        image: busybox:1.36
        command: ["sh", "-c", "echo Je vais échouer ; exit 1"]
EOF
kubectl apply -f - <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: tenace
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: tenace
        image: busybox:1.36
        command:
        - sh
        - -c
        - |
          if [ -f /trace/deja-vu ]; then
            echo "Réussi au deuxième essai"
          else
            touch /trace/deja-vu
            echo "Premier essai raté"
            exit 1
          fi
        volumeMounts:
        - name: trace
          mountPath: /trace
      volumes:
      - name: trace
        emptyDir: {}
EOF
kubectl wait --for=condition=complete job/tenace --timeout=60s
kubectl get pods --selector=job-name=tenace
kubectl wait --for=condition=failed job/casse --timeout=60s
kubectl get pods --selector=job-name=casse
