#!/bin/bash
kubectl wait --for=condition=Ready node --all --timeout=120s
