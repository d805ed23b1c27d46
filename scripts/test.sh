#!/usr/bin/env bash
# Runs the whole test suite with the race detector. When gnome-keyring is installed the keystore tests also run
# against the real Secret Service inside a private D-Bus session (see docs/development.md).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}"
export LANG=en_US.UTF-8
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"

if command -v dbus-run-session >/dev/null 2>&1 && command -v gnome-keyring-daemon >/dev/null 2>&1; then
  export CLIPROXY_TEST_REAL_KEYCHAIN=1
  exec dbus-run-session -- sh -c 'printf %s cliproxy-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$0" test -race -count=1 ./...' "$GO"
fi
echo "note: gnome-keyring not installed; the real-keychain tests are skipped (make deps-test installs it)"
exec "$GO" test -race -count=1 ./...
