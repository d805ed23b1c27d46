package autostart

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDesktopQuote(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "/usr/bin/cliproxy", "/usr/bin/cliproxy"},
		{"space", "/opt/CLI Proxy/cliproxy", `"/opt/CLI Proxy/cliproxy"`},
		{"percent", "100%", "100%%"},
		{"dollar", "$HOME", `"\$HOME"`},
		{"quote", `say "hi"`, `"say \"hi\""`},
		{"backslash", `C:\x`, `"C:\\\\x"`},
		{"empty", "", `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := desktopQuote(tt.in); got != tt.want {
				t.Errorf("desktopQuote(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestDesktopEntry(t *testing.T) {
	got := desktopEntry("cliproxy", "/usr/local/bin/cliproxy", []string{"--config", "/tmp/my config.toml"})
	for _, want := range []string{
		"[Desktop Entry]\n",
		"Type=Application\n",
		"Name=cliproxy\n",
		"Exec=/usr/local/bin/cliproxy --config \"/tmp/my config.toml\"\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("entry lacks %q:\n%s", want, got)
		}
	}
}

func TestLaunchAgentPlistIsWellFormed(t *testing.T) {
	p := launchAgentPlist("dev.cliproxy.cliproxy", "/Applications/CLIProxy.app/Contents/MacOS/cliproxy", []string{"--config", "a&b<c>"})
	dec := xml.NewDecoder(strings.NewReader(p))
	dec.Strict = true
	var strs []string
	inString := false
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("plist is not well-formed XML: %v\n%s", err, p)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			inString = v.Name.Local == "string"
		case xml.EndElement:
			inString = false
		case xml.CharData:
			if inString {
				strs = append(strs, string(v))
			}
		}
	}
	want := []string{"dev.cliproxy.cliproxy", "/Applications/CLIProxy.app/Contents/MacOS/cliproxy", "--config", "a&b<c>", "Interactive"}
	if strings.Join(strs, "|") != strings.Join(want, "|") {
		t.Errorf("plist strings = %q, want %q", strs, want)
	}
	if !strings.Contains(p, "<key>RunAtLoad</key>\n\t<true/>") {
		t.Errorf("plist lacks RunAtLoad true:\n%s", p)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name, entry, exec string
		ok                bool
	}{
		{"ok", "cliproxy", "/bin/cliproxy", true},
		{"empty name", "", "/bin/cliproxy", false},
		{"slash in name", "../evil", "/bin/cliproxy", false},
		{"empty exec", "cliproxy", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := validate(tt.entry, tt.exec); (err == nil) != tt.ok {
				t.Errorf("validate(%q, %q) = %v, want ok=%v", tt.entry, tt.exec, err, tt.ok)
			}
		})
	}
}
