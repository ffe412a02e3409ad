#!/bin/bash
sleep 3
kubectl create configmap base --from-literal=mode=prod
