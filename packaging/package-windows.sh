#!/usr/bin/env bash
# Cross-compiles the Windows build (CLIProxy.exe with icon and version resource) on Linux with mingw-w64,
# using `fyne package` (fyne.io/tools v1.7.4) and FyneApp.toml at the module root.
# Needs: apt-get install gcc-mingw-w64-x86-64-posix. The first run takes about 5 minutes on two cores.
# Usage: packaging/package-windows.sh [output-dir]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/dist"}
cc=${CC:-x86_64-w64-mingw32-gcc}
command -v "$cc" >/dev/null 2>&1 || {
  echo "package-windows: $cc not found; install it with: apt-get install gcc-mingw-w64-x86-64-posix" >&2
  exit 1
}

# The fyne tool runs on this machine, so build it for the host first: `GOOS=windows go run ...` would
# build the tool itself for Windows and fail with "exec format error".
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
GOBIN="$tools" go install fyne.io/tools/cmd/fyne@v1.7.4

mkdir -p "$out"
cd "$root"
# no_emoji as in `make build`: the bundled emoji font costs the dashboard about 9 MiB of heap.
CC="$cc" CGO_ENABLED=1 "$tools/fyne" package -os windows -release -tags no_emoji
mv -f CLIProxy.exe "$out/"
echo "wrote $out/CLIProxy.exe"
