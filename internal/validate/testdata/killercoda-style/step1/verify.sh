#!/bin/bash
kubectl get configmap web -o jsonpath='{.data.mode}' | grep -qx prod &&
  kubectl get configmap app-conf -o jsonpath='{.data.mode}' | grep -qx prod &&
  kubectl get configmap app-conf -o jsonpath='{.data.app\.conf}' | grep -q 'port=8080'
