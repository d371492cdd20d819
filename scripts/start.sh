#!/usr/bin/env bash
# `npm start`: with NODE_ENV=production the compiled build (`npm run build` -> dist/), never tsx; otherwise the
# TypeScript sources through tsx, so a checkout runs with no build step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ "${NODE_ENV:-}" == production ]]; then
  if [[ ! -f dist/src/main.js ]]; then
    echo "dist/src/main.js is missing: run \`npm run build\` first (production runs the compiled build)" >&2
    exit 1
  fi
  exec node dist/src/main.js
fi
exec node --import tsx src/main.ts
