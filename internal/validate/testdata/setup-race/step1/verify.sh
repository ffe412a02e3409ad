#!/bin/bash
kubectl get configmap base -o jsonpath='{.metadata.labels.ready}' | grep -qx yes
