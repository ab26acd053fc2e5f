#!/usr/bin/env bash
# Starts the gateway on $DATABASE_URL (or PGlite), pushes one generated linkage file through
# it with the case-system simulator, and stops the gateway. Exit code: the simulator's.
set -euo pipefail
cd "$(dirname "$0")/.."
subjects=${1:-1000}
dir=$(mktemp -d)
port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
DATA_DIR="$dir" PORT=$port LOG_LEVEL=warn npx tsx src/gateway/main.ts >"$dir/gateway.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
DATA_DIR="$dir" npm run --silent sim:case-system -- --subjects "$subjects" --encoding cp932 --bad 5 --url "http://127.0.0.1:$port"
