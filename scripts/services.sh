#!/usr/bin/env bash
# Starts what the tests need on this machine kind: PostgreSQL on 127.0.0.1:5432.
# Safe to run again: it does nothing when the services are up.
set -euo pipefail

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    ver=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
    echo "starting PostgreSQL $ver ..."
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  else
    echo "PostgreSQL is not installed: installing it from Debian's packages ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    ver=$(ls /etc/postgresql | sort -n | tail -1)
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if pg_up; then
  # The tests use database "test" with trust auth, as on this machine kind.
  if command -v psql >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null | grep -q 1 \
      || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null 2>&1 || true
  fi
else
  echo "warning: PostgreSQL is not reachable on 127.0.0.1:5432; its tests will fail in CI and skip elsewhere" >&2
fi

# The other real components the tests start themselves, on free loopback
# ports: Knot DNS (DNS tests), Dovecot (the IMAP bounce reader), GnuPG (gpg
# --verify of our signatures) from Debian's packages, and mailpit (the SMTP
# server with an HTTP API), built from its Go module.
debian_install() { # command package...
  local cmd=$1; shift
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
    echo "$cmd is not installed: installing $* from Debian's packages ..."
    export DEBIAN_FRONTEND=noninteractive
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    [ -n "${apt_updated:-}" ] || { $sudo apt-get update -qq; apt_updated=1; }
    # --no-install-recommends: the tests need the binaries, not a running service.
    $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null || echo "warning: could not install $*" >&2
  fi
}
"$(dirname "$0")/knot.sh" || true
debian_install dovecot dovecot-imapd
debian_install gpg gpg
"$(dirname "$0")/mailpit.sh" >/dev/null || echo "warning: mailpit could not be built; the mail tests will fail in CI and skip elsewhere" >&2
