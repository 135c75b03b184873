#!/usr/bin/env bash
# AssemblyScript crypto vs node:crypto (OpenSSL), µs per verify. Rebuilds build/crypto.wasm first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
npx asc --config asconfig.crypto.json --target release
exec node --import tsx bench/crypto/run.ts "$@"
