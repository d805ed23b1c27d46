package route

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsStayInTheirLane keeps route free of the packages that are built against it: it may use
// the standard library and proxycore/clock only, so config, llm, translate and server can all import
// it without cycles.
func TestImportsStayInTheirLane(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first := strings.SplitN(path, "/", 2)[0]
			if path == "github.com/cliproxy/cliproxy/proxycore/clock" || !strings.Contains(first, ".") {
				continue
			}
			t.Errorf("%s imports %s; route may import only the standard library and proxycore/clock", name, path)
		}
	}
}
