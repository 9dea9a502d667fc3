#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on 127.0.0.1 for the test suite: starts them
# when installed but stopped, installs them with apt-get when absent (as root), and
# creates the test role's database. It never reconfigures a server it did not install.
set -euo pipefail
PG_PORT=5432
REDIS_PORT=6379

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # wait_for NAME PORT: up to 30 s
  for _ in $(seq 1 60); do listening "$2" && return 0; sleep 0.5; done
  echo "$1 did not start on 127.0.0.1:$2" >&2
  return 1
}

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

apt_install() {
  echo "Installing $* with apt-get"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}

start_postgres() {
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "Starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
}

ensure_postgres() {
  listening "$PG_PORT" && return 0
  if [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    start_postgres
  elif can_install; then
    apt_install postgresql
    start_postgres
    wait_for PostgreSQL "$PG_PORT"
    # A fresh Debian cluster wants a password over TCP: give the postgres role the one the tests use.
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
  else
    echo "PostgreSQL is not running on 127.0.0.1:$PG_PORT and cannot be installed (not root)." >&2
    exit 1
  fi
  wait_for PostgreSQL "$PG_PORT"
}

ensure_redis() {
  listening "$REDIS_PORT" && return 0
  if ! command -v redis-server >/dev/null; then
    can_install || { echo "Redis is not running on 127.0.0.1:$REDIS_PORT and cannot be installed." >&2; exit 1; }
    apt_install redis-server
  fi
  echo "Starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /tmp --logfile /tmp/fieldhook-redis.log
  wait_for Redis "$REDIS_PORT"
}

ensure_database() {  # the database tests/settings.py names (pytest-django creates test_<name> beside it)
  command -v psql >/dev/null || return 0
  export PGPASSWORD=postgres
  if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='fieldhook'" | grep -q 1; then
    echo "Creating database fieldhook"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE fieldhook"
  fi
}

ensure_postgres
ensure_redis
ensure_database
echo "PostgreSQL and Redis answer on 127.0.0.1"
