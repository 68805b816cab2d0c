#!/usr/bin/env bash
# The OpenID provider the playbook tests register clients at: oidc-provider (npm) in
# tests/peers/oidc, installed exactly as package-lock.json says. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "installing nodejs and npm" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
cd tests/peers/oidc
want=$(node -p "require('./package-lock.json').packages['node_modules/oidc-provider'].version")
have=$(node -p "try { require('./node_modules/oidc-provider/package.json').version } catch (e) { '' }")
if [ "$want" != "$have" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
