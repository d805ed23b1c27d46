//go:build !headless

package main

import "github.com/godbus/dbus/v5"

// trayHostPresent reports whether a StatusNotifierItem host is on the session bus. Without one the tray
// icon cannot appear, so the dashboard is shown at start instead of waiting for a tray click.
func trayHostPresent() bool {
	conn, err := dbus.SessionBusPrivate()
	if err != nil {
		return false
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		return false
	}
	if err := conn.Hello(); err != nil {
		return false
	}
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has)
	return err == nil && has
}
