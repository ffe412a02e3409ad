#!/bin/bash
mkdir -p ~/atelier
touch ~/atelier/pret
