#!/usr/bin/env bash
# Code coverage (seed 001 §6.2): builds, runs the whole test suite with V8 coverage, and writes
# a summary to the terminal plus coverage/index.html and coverage/lcov.info.
# The tests run the built CLI in child processes; NODE_V8_COVERAGE collects from those too.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build
rm -rf coverage .v8-coverage
mkdir -p .v8-coverage
NODE_V8_COVERAGE="$PWD/.v8-coverage" npx vitest run "$@"
npx c8 report --temp-directory .v8-coverage --reports-dir coverage \
  --include 'dist/**/*.js' --reporter text-summary --reporter html --reporter lcov --exclude-after-remap=false
rm -rf .v8-coverage
echo "coverage report: coverage/index.html"
