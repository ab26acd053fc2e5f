#!/usr/bin/env bash
# Runs a command against $DATABASE_URL, or against a throwaway PostgreSQL 15 started for it
# (durable: fsync on) when DATABASE_URL is unset. Used by the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${DATABASE_URL:-}" ]; then exec "$@"; fi
source scripts/pg-throwaway.sh
pg_throwaway_start --durable
trap pg_throwaway_stop EXIT
"$@"
