# Sourced by scripts/screenshots.sh and scripts/dashboard-perf.sh inside their private D-Bus session.
#
# start_xsession WORK: starts Xvfb (1280x800x24) on a free display and, when it is installed, the
# StatusNotifierItem tray host (see shared PLATFORM.md), appending their pids to the caller's pids array;
# exports DISPLAY and a throwaway HOME under WORK, so preferences and the demo's lock stay out of the user's.
# Returns 1 when the tray host is not installed.
start_xsession() {
  local work=$1 disp=90 tray=0
  while [ -e "/tmp/.X11-unix/X$disp" ] || [ -e "/tmp/.X$disp-lock" ]; do disp=$((disp + 1)); done
  export DISPLAY=":$disp"
  Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

  # The tray host: the watcher first, then the tray bar (its own --watcher flag is racy).
  if command -v status-notifier-watcher >/dev/null 2>&1 && command -v gtk-sni-tray-standalone >/dev/null 2>&1; then
    status-notifier-watcher >"$work/watcher.log" 2>&1 &
    pids+=($!)
    sleep 1
    gtk-sni-tray-standalone --bottom --size 40 >"$work/tray.log" 2>&1 &
    pids+=($!)
    sleep 1
    tray=1
  fi

  export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_CACHE_HOME="$work/home/.cache"
  export XDG_DATA_HOME="$work/home/.local/share" LANG=en_US.UTF-8
  mkdir -p "$HOME"
  [ "$tray" = 1 ]
}
