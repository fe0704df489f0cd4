#!/usr/bin/env bash
# Builds mailpit (the SMTP server with an HTTP API that the mail tests run)
# into the cache that internal/mail/mailpittest uses, so that the tests find
# it there and do not build it themselves. Prints the binary's path.
# Safe to run again: it does nothing when the binary is there.
# MAILPIT=/path/to/mailpit makes the tests use that binary instead.
set -euo pipefail
cd "$(dirname "$0")/.."

# One version, written in the Go helper.
version=$(sed -n 's/^const Version = "\(v[^"]*\)".*/\1/p' internal/mail/mailpittest/mailpittest.go)
[ -n "$version" ] || { echo "mailpit.sh: no Version in internal/mail/mailpittest/mailpittest.go" >&2; exit 1; }

# The same place as Go's os.UserCacheDir()/tocsin/mailpit-$version.
case "$(uname -s)" in
  Darwin) cache="$HOME/Library/Caches" ;;
  *) cache="${XDG_CACHE_HOME:-$HOME/.cache}"; [[ $cache == /* ]] || cache="$HOME/.cache" ;;
esac
dir="$cache/tocsin/mailpit-$version"
bin="$dir/mailpit"

if [ ! -x "$bin" ]; then
  mkdir -p "$dir"
  # The lock the Go helper takes too (flock(2)), so that they build it once.
  exec 9>"$dir/.lock"
  command -v flock >/dev/null 2>&1 && flock 9
  if [ ! -x "$bin" ]; then
    echo "building mailpit $version into $dir ..." >&2
    gobin=$(mktemp -d "$dir/build-XXXXXX")
    work=$(mktemp -d)
    trap 'rm -rf "$gobin" "$work"' EXIT
    # Outside this module, so that our go.mod is untouched.
    (cd "$work" && GOBIN="$gobin" GOFLAGS=-mod=mod GO111MODULE=on GOWORK=off \
      go install "github.com/axllent/mailpit@$version")
    mv "$gobin/mailpit" "$bin"
  fi
fi
echo "$bin"
