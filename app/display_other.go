//go:build !(linux || freebsd || openbsd || netbsd)

package app

// HasDisplay reports whether a graphical session is available; macOS and Windows always have one.
func HasDisplay(Env) bool { return true }
