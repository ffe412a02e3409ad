#!/bin/bash
test -d ~/notes
