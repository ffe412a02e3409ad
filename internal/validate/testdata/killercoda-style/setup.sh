#!/bin/bash
sleep 2
kubectl create configmap settings --from-literal=mode=prod
