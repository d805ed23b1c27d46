//go:build !linux && !headless

package main

// trayHostPresent reports whether a system tray can show the icon; macOS and Windows always have one.
func trayHostPresent() bool { return true }
