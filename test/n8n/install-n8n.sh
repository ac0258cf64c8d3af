#!/usr/bin/env bash
# Installs the pinned n8n used by test/n8n/e2e.test.ts into a cache folder, once.
# n8n 2.x needs Node >= 24: run with Node 24 first on PATH and npm_config_nodedir pointing at it
# (sqlite3 is rebuilt against those headers). About 3.5 minutes and 3 GB on a cold cache.
set -euo pipefail

N8N_VERSION="${N8N_VERSION:-2.41.1}"   # 2.41.3 is not installable from this registry (missing pinned deps)
CACHE="${SWITCHYARD_CACHE:-$HOME/.cache/switchyard}"
HOST="$CACHE/n8n-$N8N_VERSION"

major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 24 ]; then
  echo "install-n8n: n8n $N8N_VERSION needs Node >= 24, found $(node --version)" >&2
  exit 1
fi

mkdir -p "$CACHE"
exec 9>"$HOST.lock"
flock 9   # one installer at a time; the others reuse its result

if [ -f "$HOST/.complete" ] && [ -x "$HOST/node_modules/.bin/n8n" ]; then
  echo "install-n8n: reusing $HOST"
  exit 0
fi

work="$HOST.partial"
rm -rf "$work" "$HOST"
mkdir -p "$work"
cd "$work"
echo '{"private":true}' > package.json
started=$SECONDS
# --ignore-scripts: the Kafka client's install script downloads binaries from outside the registry.
npm install --ignore-scripts --no-audit --no-fund --loglevel=error "n8n@$N8N_VERSION"
npm rebuild sqlite3 --loglevel=error
node -e "require('sqlite3')"   # fails loudly if the native addon does not load under this Node
echo "$N8N_VERSION $(node --version)" > .complete
cd "$CACHE"
mv "$work" "$HOST"
echo "install-n8n: n8n $N8N_VERSION installed in $HOST in $((SECONDS - started)) s"
