#!/usr/bin/env bash
# The real OpenID provider that the `entra` live-pull tests sign in against with msal:
# oidc-provider from npm, pinned by tests/peers/entra-oidc/package-lock.json. Needs Node.js 20+
# with npm. Installs only when node_modules does not hold the pinned version, so running it
# again is cheap; it reaches nothing but the npm registry.
set -euo pipefail
cd "$(dirname "$0")/../../tests/peers/entra-oidc"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "entra-oidc: node and npm are needed for the Entra tests (Node.js 20 or newer)" >&2
  exit 1
fi
want=$(node -p "require('./package-lock.json').packages['node_modules/oidc-provider'].version")
have=$(node -p "try { require('./node_modules/oidc-provider/package.json').version } catch (e) { '' }")
if [ "$want" != "$have" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
