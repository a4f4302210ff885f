#!/usr/bin/env bash
# What the tests start for themselves: Redis, PostgreSQL 15 and Chromium, from Debian packages.
# As root, a missing one is installed; otherwise this names the package and fails.
# The tests never use a system service these packages may start: they run their own servers
# on free loopback ports (tests/support/services.py).
set -euo pipefail

POSTGRES_BIN=/usr/lib/postgresql/15/bin
apt_updated=no

# require WHAT PACKAGE CHECK...: run CHECK; if it fails, install PACKAGE or explain and stop.
require() {
  local what=$1 package=$2
  shift 2
  if "$@"; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "The tests need $what, from the Debian package $package. Install it with:" >&2
    echo "    sudo apt-get install -y $package" >&2
    exit 1
  fi
  echo "Installing $package for the tests ($what is missing)"
  if [ "$apt_updated" = no ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    apt_updated=yes
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package"
  if ! "$@"; then
    echo "$package is installed but $what is still missing" >&2
    exit 1
  fi
}

require "redis-server" redis-server command -v redis-server >/dev/null
require "PostgreSQL 15 in $POSTGRES_BIN" postgresql-15 test -x "$POSTGRES_BIN/postgres"
# The web client's browser tests drive this Chromium (web/playwright.config.ts).
require "Chromium at /usr/bin/chromium" chromium test -x /usr/bin/chromium
# As root the tests run PostgreSQL as this user; the postgresql-common package creates it.
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  echo "The tests run PostgreSQL as the 'postgres' user, which is missing:" >&2
  echo "    apt-get install --reinstall postgresql-common" >&2
  exit 1
fi
