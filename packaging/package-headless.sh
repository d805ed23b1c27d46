#!/usr/bin/env bash
# Builds the Linux server archive: the headless build of cliproxy (no tray app, no Fyne, no cgo; a static
# binary that needs no desktop packages), the systemd user unit, the example config and the license.
# Usage: packaging/package-headless.sh [output-dir]      (GOARCH=arm64 cross-builds; no C toolchain needed)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/dist"}
GO=${GO:-go}
arch=${GOARCH:-$("$GO" env GOARCH)}
name="cliproxy-headless-linux-$arch"

mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/$name"
cd "$root"
CGO_ENABLED=0 GOOS=linux GOARCH="$arch" "$GO" build -tags headless -trimpath -o "$tmp/$name/cliproxy" .
cp packaging/cliproxy.service config.example.toml LICENSE "$tmp/$name/"
tar -C "$tmp" -czf "$out/$name.tar.gz" "$name"
echo "wrote $out/$name.tar.gz"
