#!/bin/bash
echo "waiting for the cluster"
