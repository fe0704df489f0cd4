#!/usr/bin/env bash
# Installs Knot DNS (knotd, knotc, kdig) from Debian's packages when it is
# missing: internal/dnstest starts knotd for the DNS tests (ownership proofs,
# zone transfers). Nothing is started here: each test runs its own knotd on a
# free loopback port. Safe to run again.
set -euo pipefail

if command -v knotd >/dev/null 2>&1 || [ -x /usr/sbin/knotd ]; then
  exit 0
fi
echo "Knot DNS is not installed: installing it from Debian's packages ..."
export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
# --no-install-recommends: the tests need the binaries, not a running service.
$sudo apt-get install -y -qq --no-install-recommends knot knot-dnsutils >/dev/null
# The package may start a system knotd on port 53; the tests do not use it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet knot 2>/dev/null; then
  $sudo systemctl stop knot || true
fi
command -v knotd >/dev/null 2>&1 || [ -x /usr/sbin/knotd ] || {
  echo "warning: knotd still missing after apt-get; DNS tests will fail in CI and skip elsewhere" >&2
  exit 1
}
