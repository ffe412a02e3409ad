#!/usr/bin/env bash
# Step 6: the CronJob was suspended: resume it in place. Its first Job comes at the next minute
# boundary (or at once, to catch up a missed one): the objectives wait for it.
set -euo pipefail

kubectl patch cronjob purge -p '{"spec":{"suspend":false}}'
kubectl get cronjob purge
