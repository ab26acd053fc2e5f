#!/usr/bin/env bash
# Starts the gateway on $DATABASE_URL (or PGlite), pushes one generated linkage file through
# it with the case-system simulator, and stops the gateway. Exit code: the simulator's.
set -euo pipefail
cd "$(dirname "$0")/.."
subjects=${1:-1000}
dir=$(mktemp -d)
if [ -n "${DATABASE_URL:-}" ]; then
  # A database of its own, so nothing a test left behind (a master-key check value, tenants)
  # can stand in its way.
  smoke_db="smoke_$(date +%s)_$RANDOM"
  psql "$DATABASE_URL" -qAtc "create database $smoke_db" >/dev/null
  export DATABASE_URL="${DATABASE_URL%/*}/$smoke_db"
fi
port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
# node itself (not npx/tsx wrappers, which do not pass SIGTERM on): $pid is the gateway.
DATA_DIR="$dir" PORT=$port INSURER_PORT=0 LOG_LEVEL=warn node --import tsx src/gateway/main.ts >"$dir/gateway.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ready=0
for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.5
done
if [ "$ready" != 1 ]; then
  echo "the gateway did not become ready; its log:" >&2
  cat "$dir/gateway.log" >&2
  exit 1
fi
DATA_DIR="$dir" npm run --silent sim:case-system -- --subjects "$subjects" --encoding cp932 --bad 5 --url "http://127.0.0.1:$port"
