#!/bin/bash
set -e
mode=$(kubectl get configmap settings -o jsonpath='{.data.mode}')
kubectl create configmap app-conf --from-file ~/app.conf --from-literal=mode="$mode"
