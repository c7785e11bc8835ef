#!/bin/sh
# Runs the project's TypeScript with a Node that can run it (>= 22.19, type stripping),
# installing Node 24 from the npm registry into .tools/ when the machine's Node is older,
# and the dependencies when node_modules is missing or older than package-lock.json.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
ok() { "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null; }
NODE=$(command -v node || true)
if [ -z "$NODE" ] || ! ok "$NODE"; then
  NODE="$root/.tools/node24/node_modules/node/bin/node"
  if [ ! -x "$NODE" ] || ! ok "$NODE"; then
    echo "ccai-crm-sync: this machine's Node is older than 22.19; installing Node 24 into .tools/ (npm registry) ..." >&2
    npm install --prefix "$root/.tools/node24" --no-audit --no-fund --loglevel=error node@24 >&2
  fi
  PATH="$(dirname "$NODE"):$PATH"
  export PATH
fi
if [ ! -f "$root/node_modules/.package-lock.json" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
  echo "ccai-crm-sync: installing dependencies (npm install, from package-lock.json) ..." >&2
  # npm install rather than npm ci: ci refuses a lock file that lacks optional platform
  # packages a registry mirror does not carry (msgpackr-extract for macOS/Windows); install
  # keeps every locked version and tolerates that.
  (cd "$root" && npm install --no-audit --no-fund --loglevel=error) >&2
fi
exec "$NODE" "$@"
