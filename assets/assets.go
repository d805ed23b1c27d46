// Package assets embeds the application's images so the binary needs no files beside it. It exports
// bytes only; ui turns them into Fyne resources. The PNGs are drawn by internal/gen (go run, build-ignored).
package assets

import _ "embed"

// Icon is the 512x512 application icon (PNG), also referenced by FyneApp.toml for packaging.
//
//go:embed icon.png
var Icon []byte

// TrayIcon is the 64x64 tray icon (PNG) with thicker strokes for small sizes.
//
//go:embed tray.png
var TrayIcon []byte
