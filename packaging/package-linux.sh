#!/usr/bin/env bash
# Builds a Linux release archive (CLIProxy.tar.xz: binary, .desktop file, icon) with `fyne package`,
# reading FyneApp.toml at the module root. Needs the Fyne build packages (see packaging/README.md).
# Usage: packaging/package-linux.sh [output-dir]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/dist"}
fyne_tool="fyne.io/tools/cmd/fyne@v1.7.4"

mkdir -p "$out"
cd "$root"
# fyne package builds the main package in the current directory and names the archive after
# FyneApp.toml's Name. The first run compiles go-gl and takes a couple of minutes.
# no_emoji as in `make build`: the bundled emoji font costs the dashboard about 9 MiB of heap.
go run "$fyne_tool" package -os linux -release -tags no_emoji
mv -f CLIProxy.tar.xz "$out/"
echo "wrote $out/CLIProxy.tar.xz"
