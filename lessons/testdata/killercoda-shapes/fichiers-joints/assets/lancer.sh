#!/bin/bash
cat /opt/atelier/reglages.yaml
