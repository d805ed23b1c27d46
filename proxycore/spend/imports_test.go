package spend

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsStayInBounds keeps this package's non-test files off every other proxycore package
// except clock and store, and off the desktop layers.
func TestImportsStayInBounds(t *testing.T) {
	allowed := map[string]bool{
		"github.com/cliproxy/cliproxy/proxycore/clock": true,
		"github.com/cliproxy/cliproxy/proxycore/store": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no source files found")
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/cliproxy/cliproxy/") && !allowed[path] {
				t.Errorf("%s imports %s", f, path)
			}
			if strings.HasPrefix(path, "fyne.io/") || strings.Contains(path, "go-keyring") {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
