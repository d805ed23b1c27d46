#!/usr/bin/env bash
# Installs the Debian packages that building the desktop app (Fyne, cgo + OpenGL + X11) and the keychain tests
# need. A no-op when everything is present; on other systems it says what to install instead.
set -euo pipefail

build_pkgs=(gcc pkg-config libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev libgl1-mesa-dev)
# The real Secret Service for the keychain tests (gnome-keyring under dbus-run-session), and systemd for
# `systemd-analyze verify` of the packaged user unit.
test_pkgs=(dbus gnome-keyring systemd)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then
  want+=("${test_pkgs[@]}")
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  case "$(uname -s)" in
    Darwin) echo "deps: macOS needs Xcode command line tools (xcode-select --install); nothing else to install." ;;
    Linux)  echo "deps: not a Debian-based system. Install the equivalents of: ${want[*]}" ;;
    *)      echo "deps: on $(uname -s) install a C compiler (e.g. mingw-w64 gcc) for cgo; see packaging/README.md." ;;
  esac
  exit 0
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "deps: missing packages: ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || $SUDO apt-get update
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
