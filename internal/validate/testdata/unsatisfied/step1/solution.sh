#!/bin/bash
kubectl create configmap settings --from-literal=mode=slow
