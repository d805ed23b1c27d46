// Package autostart registers the program to start when the user logs in: an XDG autostart
// .desktop file on Linux, a LaunchAgent plist on macOS and an HKCU Run registry value on Windows.
//
// Every function takes the entry name (for example "cliproxy"); it names the .desktop file, the
// registry value and, prefixed with LaunchAgentPrefix, the LaunchAgent label.
package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LaunchAgentPrefix is prepended to the entry name to form the macOS LaunchAgent label and file name
// (~/Library/LaunchAgents/<LaunchAgentPrefix><name>.plist).
const LaunchAgentPrefix = "dev.cliproxy."

// ErrUnsupported is returned on platforms without a start-at-login mechanism implemented here.
var ErrUnsupported = errors.New("autostart: not supported on this platform")

// validate checks the arguments shared by every platform's Enable.
func validate(name, execPath string) error {
	if name == "" || strings.ContainsAny(name, `/\:`) {
		return fmt.Errorf("autostart: invalid entry name %q", name)
	}
	if execPath == "" {
		return errors.New("autostart: executable path is empty")
	}
	return nil
}

// desktopEntry renders an XDG autostart entry per the Desktop Entry Specification (Exec key quoting
// rules, "Recognized desktop entry keys" and the Autostart spec's X-GNOME-Autostart-enabled hint).
func desktopEntry(name, execPath string, args []string) string {
	parts := make([]string, 0, len(args)+1)
	parts = append(parts, desktopQuote(execPath))
	for _, a := range args {
		parts = append(parts, desktopQuote(a))
	}
	var b strings.Builder
	b.WriteString("[Desktop Entry]\n")
	b.WriteString("Type=Application\n")
	fmt.Fprintf(&b, "Name=%s\n", desktopEscape(name))
	fmt.Fprintf(&b, "Exec=%s\n", strings.Join(parts, " "))
	b.WriteString("Terminal=false\n")
	b.WriteString("X-GNOME-Autostart-enabled=true\n")
	return b.String()
}

// desktopQuote quotes one Exec argument. Per the Desktop Entry Specification an argument with reserved
// characters is double-quoted with `"`, "`", `$` and `\` backslash-escaped inside the quotes, a literal
// '%' is written "%%", and the string-value escape (backslash doubled) is applied on top.
func desktopQuote(arg string) string {
	arg = strings.ReplaceAll(arg, "%", "%%")
	if arg != "" && !strings.ContainsAny(arg, " \t\n\"'\\><~|&;$*?#()`") {
		return arg
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range arg {
		switch r {
		case '"', '`', '$':
			b.WriteString(`\`)
			b.WriteRune(r)
		case '\\':
			b.WriteString(`\\\\`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// desktopEscape applies the string-value escapes of the Desktop Entry Specification.
func desktopEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`)
	return r.Replace(s)
}

// launchAgentPlist renders a LaunchAgent property list (launchd.plist(5): Label, ProgramArguments,
// RunAtLoad) that starts the program once at login.
func launchAgentPlist(label, execPath string, args []string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString(`<plist version="1.0">` + "\n<dict>\n")
	fmt.Fprintf(&b, "\t<key>Label</key>\n\t<string>%s</string>\n", xmlEscape(label))
	b.WriteString("\t<key>ProgramArguments</key>\n\t<array>\n")
	fmt.Fprintf(&b, "\t\t<string>%s</string>\n", xmlEscape(execPath))
	for _, a := range args {
		fmt.Fprintf(&b, "\t\t<string>%s</string>\n", xmlEscape(a))
	}
	b.WriteString("\t</array>\n")
	b.WriteString("\t<key>RunAtLoad</key>\n\t<true/>\n")
	b.WriteString("\t<key>ProcessType</key>\n\t<string>Interactive</string>\n")
	b.WriteString("</dict>\n</plist>\n")
	return b.String()
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	return r.Replace(s)
}

// writeFileAtomic writes data to path through a temporary file in the same directory and a rename, so a
// crash never leaves a half-written entry that the session manager would try to run.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("autostart: creating %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".autostart-*")
	if err != nil {
		return fmt.Errorf("autostart: creating temporary file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("autostart: writing %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("autostart: chmod %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("autostart: closing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("autostart: installing %s: %w", path, err)
	}
	return nil
}

// removeFile deletes path; a missing file is not an error (Disable is idempotent).
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("autostart: removing %s: %w", path, err)
	}
	return nil
}

// fileExists reports whether path exists.
func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("autostart: checking %s: %w", path, err)
	}
}
