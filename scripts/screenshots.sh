#!/usr/bin/env bash
# Takes the README screenshots: runs the real binary with --demo under Xvfb with a StatusNotifierItem tray
# host (see shared PLATFORM.md), then writes PNGs of the tray menu and of every dashboard tab to
# docs/screenshots/. Needs Xvfb, dbus, xdotool, ImageMagick and the tray host; `--install-deps` installs
# them on Debian/Ubuntu (as root or with sudo).
#
# Usage: scripts/screenshots.sh [--install-deps [--deps-only]]   (BIN=bin/cliproxy OUT=docs/screenshots by default)
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${BIN:-bin/cliproxy}
OUT=${OUT:-docs/screenshots}
TABS=(Overview Accounts Keys Spend Settings Logs)
PKGS=(xvfb xauth x11-utils xdotool imagemagick dbus haskell-status-notifier-item-utils haskell-gtk-sni-tray-utils)

if [ "${1:-}" = "--install-deps" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}"
  shift
  [ "${1:-}" = "--deps-only" ] && exit 0
fi

missing=()
for cmd in Xvfb xdotool import dbus-run-session status-notifier-watcher gtk-sni-tray-standalone; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "screenshots: missing ${missing[*]}; run: scripts/screenshots.sh --install-deps" >&2
  echo "  (Debian packages: ${PKGS[*]})" >&2
  exit 1
fi
[ -x "$BIN" ] || { echo "screenshots: $BIN not built; run make build" >&2; exit 1; }

# Everything below runs inside a private session bus, so the tray host and the app find each other and
# nothing touches the user's desktop.
if [ -z "${SCREENSHOTS_INNER:-}" ]; then
  exec env SCREENSHOTS_INNER=1 dbus-run-session -- "$0" "$@"
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The display, the tray host (checked above) and a throwaway home.
source scripts/xsession.sh
start_xsession "$work"
mkdir -p "$OUT"

# start_app TAB: starts the demo with the dashboard on TAB and waits for its window (sets app_pid, win).
start_app() {
  CLIPROXY_DASHBOARD_TAB="$1" "$BIN" --demo >>"$work/app.log" 2>&1 &
  app_pid=$!
  win=""
  for _ in $(seq 100); do
    win=$(xdotool search --onlyvisible --name '^CLIProxy$' 2>/dev/null | head -n1 || true)
    [ -n "$win" ] && break
    sleep 0.2
  done
  if [ -z "$win" ]; then
    echo "screenshots: the dashboard window did not appear; log:" >&2
    tail -n 30 "$work/app.log" >&2
    exit 1
  fi
  # Let the first refresh, the charts and the tray registration settle.
  sleep 3
}

stop_app() {
  kill "$app_pid" 2>/dev/null || true
  wait "$app_pid" 2>/dev/null || true
}

for tab in "${TABS[@]}"; do
  start_app "$tab"
  name=$(echo "$tab" | tr '[:upper:]' '[:lower:]')
  import -window "$win" "$OUT/$name.png"
  echo "screenshots: $OUT/$name.png"
  stop_app
done

# The tray menu: right-click the icon in the tray bar (bottom left) and capture the bar with its menu.
start_app Overview
# Without a window manager minimising does nothing: unmap the dashboard so only the tray bar and its menu show.
xdotool windowunmap "$win" || true
sleep 1
xdotool mousemove 20 780 click 3
sleep 2
import -window root "$work/root.png"
# The menu opens above the tray icon: keep the bottom-left corner.
convert "$work/root.png" -crop 420x420+0+380 +repage -trim -bordercolor '#202020' -border 8 "$OUT/tray.png"
echo "screenshots: $OUT/tray.png"
xdotool key Escape || true
stop_app
