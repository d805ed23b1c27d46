// Package packaging holds the files installers and service managers read; these tests check them with the
// tools that consume them, so a typo fails CI instead of a user's login.
package packaging

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The systemd user unit must pass `systemd-analyze verify` (unknown keys, bad values, a missing executable).
// systemd is one of the test packages scripts/deps.sh installs.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing: run `make deps-test` (it installs the systemd package)")
	}
	unit, err := os.ReadFile("cliproxy.service")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(unit, []byte("ExecStart=%h/.local/bin/cliproxy serve\n")) {
		t.Fatal("the unit must start `cliproxy serve` from ~/.local/bin, as its install comment says")
	}
	// verify checks that ExecStart names an executable; point it at one that exists here.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	check := func(name string, content []byte) (string, error) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
		return string(out), err
	}
	local := bytes.Replace(unit, []byte("%h/.local/bin/cliproxy"), []byte(self), 1)
	if out, err := check("cliproxy.service", local); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The check itself must be able to fail: a misspelt key is reported.
	broken := bytes.Replace(local, []byte("Restart="), []byte("Restrat="), 1)
	if out, _ := check("broken.service", broken); !strings.Contains(out, "Restrat") {
		t.Fatalf("systemd-analyze did not report a misspelt key:\n%s", out)
	}
}

// The LaunchAgent template is a well-formed property list whose Label matches its file name and which runs
// `<exec> serve` at load, as launchd.plist(5) describes.
func TestLaunchAgentTemplate(t *testing.T) {
	const name = "dev.cliproxy.cliproxy.plist"
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("@EXEC@"), []byte("/usr/local/bin/cliproxy"))
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	var keys, values []string
	var last string
	for {
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				break
			}
			t.Fatalf("%s is not well-formed XML: %v", name, err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			last = tk.Name.Local
			if last == "true" || last == "false" {
				values = append(values, last)
			}
		case xml.CharData:
			s := strings.TrimSpace(string(tk))
			if s == "" {
				continue
			}
			switch last {
			case "key":
				keys = append(keys, s)
			case "string":
				values = append(values, s)
			}
		}
	}
	if strings.Join(keys, ",") != "Label,ProgramArguments,RunAtLoad,KeepAlive,SuccessfulExit,ProcessType" {
		t.Errorf("keys = %v", keys)
	}
	want := []string{strings.TrimSuffix(name, ".plist"), "/usr/local/bin/cliproxy", "serve", "true", "false", "Background"}
	if strings.Join(values, ",") != strings.Join(want, ",") {
		t.Errorf("values = %v, want %v", values, want)
	}
}
