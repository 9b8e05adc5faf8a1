#!/usr/bin/env bash
# The console's browser tests (`make test` runs them): Debian's Chromium, installed when missing; playwright-core,
# Preact and the rest from the npm registry (console/package-lock.json); a throw-away demo server from the debug
# binary, on a free port with a temporary store. Screenshots go to console/e2e/screenshots/ (ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "console-e2e: installing Debian's chromium"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
fi

cd console
npm ci --no-audit --no-fund --loglevel=error
# The bundle the binary embeds (console/dist/, committed) must be the one the sources build.
npm run --silent build >/dev/null
if [ -n "$(git status --porcelain -- dist)" ]; then
  echo "console-e2e: console/dist/ is not the build of console/src/: run 'npm run build' in console/ and commit dist/" >&2
  git status --short -- dist >&2
  exit 1
fi
cd ..

cargo=${CARGO:-cargo}
$cargo build --quiet
target=${CARGO_TARGET_DIR:-target}
RAPPEL_BIN="$(cd "$target" && pwd)/debug/rappel" node console/e2e/run.mjs
