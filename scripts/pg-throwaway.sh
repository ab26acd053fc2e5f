#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for tests and benchmarks (PostgreSQL refuses to run as root,
# so it runs as the `postgres` user, or `nobody` where that user is absent).
# Usage: source scripts/pg-throwaway.sh; pg_throwaway_start [--durable]; …; pg_throwaway_stop
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

pg_throwaway_install() {
  if [ ! -x "$PGBIN/postgres" ]; then
    echo "PostgreSQL 15 server not found; installing it" >&2
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
    fi
  fi
}

pg_as() {
  if [ "$(id -u)" != 0 ]; then "$@"; return; fi
  if id postgres >/dev/null 2>&1; then runuser -u postgres -- "$@";
  else setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; fi
}

pg_throwaway_start() {
  pg_throwaway_install
  PGROOT=$(mktemp -d)
  PGPORT=${PGPORT:-$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")}
  if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then chown postgres "$PGROOT"; else chown nobody:nogroup "$PGROOT"; fi
  fi
  local extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${1:-}" = "--durable" ] && extra=""
  (cd / && pg_as "$PGBIN/initdb" -D "$PGROOT/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null)
  (cd / && pg_as "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/postgres.log" -w -t 30 start \
    -o "-p $PGPORT -k $PGROOT -c listen_addresses=127.0.0.1 -c max_connections=200 $extra" >/dev/null)
  "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres app
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/app"
  export PGROOT PGPORT
  echo "PostgreSQL 15 on 127.0.0.1:$PGPORT (data in $PGROOT)"
}

pg_throwaway_stop() {
  [ -n "${PGROOT:-}" ] || return 0
  (cd / && pg_as "$PGBIN/pg_ctl" -D "$PGROOT/data" -m fast -w stop >/dev/null 2>&1) || true
  rm -rf "$PGROOT"
  PGROOT=
}
