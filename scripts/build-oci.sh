#!/usr/bin/env bash
# Packs build/cellauth.wasm as a Wasm OCI image layout in build/oci (no Docker needed) and
# records the manifest digest in build/oci/DIGEST. Push it with any OCI tool, e.g.
#   oras cp --from-oci-layout build/oci:0.1.0 registry.example/cellauth:0.1.0
#   crane push build/oci registry.example/cellauth:0.1.0
#   skopeo copy --preserve-digests oci:build/oci:0.1.0 docker://registry.example/cellauth:0.1.0
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [[ ! -f build/cellauth.wasm ]]; then npm run --silent build; fi
npx --no-install tsx cli/cellauth.ts oci "$@"
