#!/bin/bash
echo "Bienvenue dans le terminal."
