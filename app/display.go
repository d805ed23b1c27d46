//go:build linux || freebsd || openbsd || netbsd

package app

// HasDisplay reports whether a graphical session is available: on X11/Wayland systems DISPLAY or
// WAYLAND_DISPLAY must be set.
func HasDisplay(env Env) bool {
	return env.Getenv("DISPLAY") != "" || env.Getenv("WAYLAND_DISPLAY") != ""
}
