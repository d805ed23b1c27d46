#!/usr/bin/env bash
# Measures what the tray app costs with the dashboard open while the proxy serves a steady request rate
# (docs/development.md, "The dashboard's memory and CPU"). Under Xvfb (1280x800) in a private D-Bus session
# with the tray host when it is installed, each round
#   1. starts `$BIN --demo` on the $TAB tab, sends $RPS requests/s for $WARM s, takes the app's CPU and its
#      RSS (every 5 s) over the last $WINDOW s of the load, then the RSS split by mapping and the Go heap of
#      its last GC;
#   2. starts `$BIN serve` (no tray, no dashboard) and sends it the same load, for the CPU of the proxy
#      alone; the difference is what the UI adds.
# The binary's pages are dropped from the page cache before each start, so a fresh build and an installed
# binary count the same (see "The headless build" in docs/development.md).
#
# Usage: scripts/dashboard-perf.sh      (BIN=bin/cliproxy RPS=100 WARM=120 WINDOW=60 ROUNDS=1 TAB=Overview)
# Needs Xvfb, xdotool, dbus-run-session and ss (scripts/screenshots.sh --install-deps installs them).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${BIN:-bin/cliproxy}
RPS=${RPS:-100}
WARM=${WARM:-120}
WINDOW=${WINDOW:-60}
ROUNDS=${ROUNDS:-1}
TAB=${TAB:-Overview}

for cmd in Xvfb xdotool xdpyinfo dbus-run-session ss; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "dashboard-perf: $cmd is missing (scripts/screenshots.sh --install-deps)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "dashboard-perf: $BIN not built; run make build" >&2; exit 1; }
[ "$WARM" -gt $((WINDOW + 5)) ] || { echo "dashboard-perf: WARM must exceed WINDOW by more than 5 s" >&2; exit 1; }

if [ -z "${DASHPERF_INNER:-}" ]; then
  exec env DASHPERF_INNER=1 dbus-run-session -- "$0" "$@"
fi

work=$(mktemp -d)
pids=()
app=""
cleanup() {
  [ -n "$app" ] && kill "$app" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/dashperf" ./scripts/dashperf
bin=$(realpath "$BIN")

source scripts/xsession.sh
start_xsession "$work" || echo "dashboard-perf: no tray host installed; the dashboard is then the app's only window" >&2
hz=$(getconf CLK_TCK)

# ticks PID: user+system CPU time in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# port_of PID: the TCP port the process listens on.
port_of() { ss -ltnpH | awk -v p="pid=$1," 'index($0, p) {n = split($4, a, ":"); print a[n]; exit}'; }

# loaded PID URL KEY: runs the load; sets cpu to the process's share of one core over the last WINDOW s, and
# rss to the mean and the highest of its RSS sampled every 5 s meanwhile (the Go heap swings between
# collections, so one sample can be off by its garbage).
loaded() {
  "$work/dashperf" load -url "$2" -key "$3" -rps "$RPS" -for "${WARM}s" >"$work/load.out" &
  local lp=$! t0 t1 s0 s1 samples=""
  sleep $((WARM - WINDOW - 2))
  t0=$(ticks "$1"); s0=$(date +%s.%N)
  for _ in $(seq $((WINDOW / 5))); do
    sleep 5
    samples="$samples $(awk '/^VmRSS:/ {print $2}' "/proc/$1/status")"
  done
  sleep $((WINDOW % 5))
  t1=$(ticks "$1"); s1=$(date +%s.%N)
  wait "$lp"
  cpu=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v a="$s0" -v b="$s1" 'BEGIN {printf "%.1f", 100 * t / hz / (b - a)}')
  rss=$(echo "$samples" | awk '{for (i = 1; i <= NF; i++) {s += $i; if ($i > m) m = $i} printf "mean %.1f MiB, highest %.1f MiB", s / NF / 1024, m / 1024}')
}

# stop PID: SIGTERM, and SIGKILL when the process has not ended 15 s later.
stop() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then
    echo "dashboard-perf: pid $1 did not end 15 s after SIGTERM; killing it" >&2
    kill -9 "$1" 2>/dev/null || true
  fi
  wait "$1" 2>/dev/null || true
}

# breakdown PID: RSS by kind of mapping, in MiB.
breakdown() {
  awk -v bin="$bin" '
    /^[0-9a-f]+-[0-9a-f]+ / {
      name = $6
      if (name == "" || (name ~ /^\[/ && name != "[heap]")) kind = "anon"
      else if (name == "[heap]") kind = "heap"
      else if (name == bin) kind = "bin"
      else if (name ~ /libLLVM|\/dri\/|libgallium/) kind = "mesa"
      else kind = "file"
    }
    /^Rss:/ { rss[kind] += $2; total += $2 }
    END { printf "RSS %.1f MiB: anonymous mappings %.1f (Go heap and runtime, large C allocations), C heap %.1f, binary %.1f, Mesa (libLLVM, dri) %.1f, other files %.1f\n",
      total/1024, rss["anon"]/1024, rss["heap"]/1024, rss["bin"]/1024, rss["mesa"]/1024, rss["file"]/1024 }' "/proc/$1/smaps"
}

for round in $(seq "$ROUNDS"); do
  dd if="$bin" iflag=nocache count=0 status=none
  log="$work/app.$round.log"
  CLIPROXY_DASHBOARD_TAB="$TAB" GODEBUG=gctrace=1 "$bin" --demo >"$log" 2>&1 &
  app=$!
  for _ in $(seq 150); do
    xdotool search --onlyvisible --name '^CLIProxy$' >/dev/null 2>&1 && break
    sleep 0.2
  done
  sleep 5
  port=$(port_of "$app")
  key=$("$work/dashperf" key "$(sed -n 's/.*demo mode with synthetic data in //p' "$log" | head -n1)")
  [ -n "$port" ] || { echo "dashboard-perf: the demo is not listening; log:" >&2; tail -n 20 "$log" >&2; exit 1; }
  loaded "$app" "http://127.0.0.1:$port/v1/chat/completions" "$key"
  gui_cpu=$cpu
  echo "round $round, dashboard on $TAB: CPU $gui_cpu% of a core; $(cat "$work/load.out")"
  echo "  RSS over the last $WINDOW s: $rss"
  echo "  at the end: $(breakdown "$app")"
  echo "  last GC: $(grep '^gc ' "$log" | tail -n1 | grep -o '[0-9]*->[0-9]*->[0-9]* MB, [0-9]* MB goal')"
  stop "$app"; app=""

  dd if="$bin" iflag=nocache count=0 status=none
  sport=18317
  while ss -ltnH "sport = :$sport" | grep -q .; do sport=$((sport + 1)); done
  # The same proxy work as the demo, whose request log is on, so that the difference is the UI's.
  printf 'port = %d\napi-keys = ["sk-dashperf-0000000000000000000000000001"]\n[keystore]\nbackend = "file"\n[request-log]\nenable = true\n' \
    "$sport" >"$work/serve.toml"
  "$bin" serve --config "$work/serve.toml" >"$work/serve.$round.log" 2>&1 &
  app=$!
  for _ in $(seq 50); do [ -n "$(port_of "$app")" ] && break; sleep 0.2; done
  loaded "$app" "http://127.0.0.1:$sport/v1/chat/completions" sk-dashperf-0000000000000000000000000001
  echo "  serve alone: CPU $cpu% of a core; the UI adds $(awk -v a="$gui_cpu" -v b="$cpu" 'BEGIN {printf "%.1f", a - b}')% of a core"
  stop "$app"; app=""
  rm -rf "$HOME/.local/share/cliproxy" "$HOME/.config/cliproxy"
done
