#!/bin/bash
grep -q bonjour ~/notes/a.txt
