#!/bin/bash
kubectl get pod my-pod || kubectl run my-pod --image=nginx
