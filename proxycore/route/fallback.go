package route

import (
	"fmt"
	"sort"
	"strings"
)

// Fallbacks holds the fallback chains ([[fallback-chains]] in the config): when every credential of a
// model fails or cools down, the next models are tried in order. It is immutable and safe for
// concurrent use.
type Fallbacks struct {
	next map[string][]string // model -> flattened, ordered fallbacks
}

// NewFallbacks validates chains (model -> its direct fallbacks) and flattens them. A model that known
// rejects (when known is non-nil), an empty name or a cycle is an error naming fallback-chains.
func NewFallbacks(chains map[string][]string, known func(model string) bool) (*Fallbacks, error) {
	models := make([]string, 0, len(chains))
	for m := range chains {
		models = append(models, m)
	}
	sort.Strings(models) // deterministic error messages
	for _, m := range models {
		if err := checkModel(m, known); err != nil {
			return nil, err
		}
		for _, fb := range chains[m] {
			if err := checkModel(fb, known); err != nil {
				return nil, err
			}
		}
	}
	// Depth-first search with colours finds a cycle and reports its path.
	const (
		white = iota
		grey
		black
	)
	colour := make(map[string]int, len(chains))
	var path []string
	var visit func(m string) error
	visit = func(m string) error {
		colour[m] = grey
		path = append(path, m)
		for _, fb := range chains[m] {
			switch colour[fb] {
			case grey:
				i := indexOf(path, fb)
				cycle := append(append([]string(nil), path[i:]...), fb)
				return fmt.Errorf("fallback-chains: cycle %s", strings.Join(cycle, " -> "))
			case white:
				if err := visit(fb); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		colour[m] = black
		return nil
	}
	for _, m := range models {
		if colour[m] == white {
			if err := visit(m); err != nil {
				return nil, err
			}
		}
	}
	f := &Fallbacks{next: make(map[string][]string, len(chains))}
	for _, m := range models {
		f.next[m] = flatten(m, chains)
	}
	return f, nil
}

func checkModel(m string, known func(string) bool) error {
	if strings.TrimSpace(m) == "" {
		return fmt.Errorf("fallback-chains: empty model name")
	}
	if known != nil && !known(m) {
		return fmt.Errorf("fallback-chains: unknown model %q (no credential serves it)", m)
	}
	return nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return 0
}

// flatten lists the fallbacks of m breadth first: its own list in the configured order, then the
// fallbacks of those, and so on, without repeats and without m itself. Breadth first keeps the user's
// direct choices ahead of second-hand ones.
func flatten(m string, chains map[string][]string) []string {
	seen := map[string]bool{m: true}
	var out []string
	queue := []string{m}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, fb := range chains[cur] {
			if !seen[fb] {
				seen[fb] = true
				out = append(out, fb)
				queue = append(queue, fb)
			}
		}
	}
	return out[:len(out):len(out)]
}

// Next returns the ordered fallbacks of model (nil when it has none). The slice is shared and must not
// be modified.
func (f *Fallbacks) Next(model string) []string {
	if f == nil {
		return nil
	}
	return f.next[model]
}
