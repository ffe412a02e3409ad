#!/usr/bin/env bash
# Step 7: suspend "rapport", run it by hand while suspended (kubectl sets the
# cronjob.kubernetes.io/instantiate=manual annotation and the owner
# reference), then resume it. The objective follows spec.suspend through true, then false.
set -euo pipefail

kubectl patch cronjob rapport -p '{"spec":{"suspend":true}}'
kubectl create job rapport-manuel --from=cronjob/rapport
kubectl wait --for=condition=complete job/rapport-manuel --timeout=60s
kubectl patch cronjob rapport -p '{"spec":{"suspend":false}}'
kubectl get cronjob rapport
