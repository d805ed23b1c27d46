package route

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Entry is one routable (credential, model) pair.
type Entry struct {
	// CredentialID is the unique credential id, e.g. "openai-1" or "claude-code:user@x.com".
	CredentialID string
	// Provider is the provider id: openai, anthropic, gemini, claude-code, codex, copilot, kiro, qwen,
	// gemini-cli, or the name of an openai-compatible entry.
	Provider string
	// Model is the model name clients use.
	Model string
	// Upstream is the model name sent upstream; empty means the same as Model.
	Upstream string
}

// UpstreamModel returns the model name to send upstream (Upstream, or Model when Upstream is empty).
func (e Entry) UpstreamModel() string {
	if e.Upstream != "" {
		return e.Upstream
	}
	return e.Model
}

// ErrUnknownModel is matched (with errors.Is) by every UnknownModelError.
var ErrUnknownModel = errors.New("unknown model")

// UnknownModelError says that no credential serves the requested model.
type UnknownModelError struct {
	// Model is the model name exactly as the client sent it.
	Model string
}

// Error returns a sentence naming the model.
func (e *UnknownModelError) Error() string {
	return fmt.Sprintf("unknown model %q: no configured credential serves it", e.Model)
}

// Is reports whether target is ErrUnknownModel.
func (e *UnknownModelError) Is(target error) bool { return target == ErrUnknownModel }

// maxAliasDepth bounds alias chains ("fast" -> "flash" -> "gemini-2.5-flash") and breaks alias cycles.
const maxAliasDepth = 8

// Catalog maps client model names to candidate credentials. It is immutable after NewCatalog and
// safe for concurrent use; a configuration reload builds a new Catalog.
type Catalog struct {
	byModel    map[string][]Entry            // model -> entries sorted by CredentialID
	byProvider map[string]map[string][]Entry // provider -> model -> entries sorted by CredentialID
	aliases    map[string]string             // alias -> target (a model or "provider/model")
	models     []string                      // client-visible names, sorted
}

// NewCatalog builds a catalog from entries and aliases (alias name -> model name, which may itself be
// "provider/model"). Duplicate (credential, model) entries are dropped, keeping the first.
func NewCatalog(entries []Entry, aliases map[string]string) *Catalog {
	c := &Catalog{
		byModel:    make(map[string][]Entry),
		byProvider: make(map[string]map[string][]Entry),
		aliases:    make(map[string]string, len(aliases)),
	}
	type key struct{ cred, model string }
	seen := make(map[key]bool, len(entries))
	for _, e := range entries {
		if e.Model == "" || e.CredentialID == "" {
			continue
		}
		k := key{e.CredentialID, e.Model}
		if seen[k] {
			continue
		}
		seen[k] = true
		c.byModel[e.Model] = append(c.byModel[e.Model], e)
		pm := c.byProvider[e.Provider]
		if pm == nil {
			pm = make(map[string][]Entry)
			c.byProvider[e.Provider] = pm
		}
		pm[e.Model] = append(pm[e.Model], e)
	}
	sortAll := func(m map[string][]Entry) {
		for name, list := range m {
			sort.SliceStable(list, func(i, j int) bool { return list[i].CredentialID < list[j].CredentialID })
			// A full slice expression makes an append by the caller copy instead of writing into the
			// shared backing array.
			m[name] = list[:len(list):len(list)]
		}
	}
	sortAll(c.byModel)
	for _, pm := range c.byProvider {
		sortAll(pm)
	}
	for alias, target := range aliases {
		if alias != "" && target != "" {
			c.aliases[alias] = target
		}
	}
	names := make([]string, 0, len(c.byModel)+len(c.aliases))
	for m := range c.byModel {
		names = append(names, m)
	}
	for a := range c.aliases {
		if _, ok := c.byModel[a]; ok {
			continue
		}
		if _, _, err := c.Resolve(a); err == nil {
			names = append(names, a)
		}
	}
	sort.Strings(names)
	c.models = names
	return c
}

// Resolve returns the candidates serving model, sorted by CredentialID, and the model name they serve.
// The returned slice is shared and must not be modified. Resolution order:
//
//  1. an alias (from NewCatalog's aliases) is replaced by its target, repeatedly, so an explicit alias
//     wins over a model of the same name;
//  2. an exact model name ("moonshotai/kimi-k2" included);
//  3. "provider/model" where provider is the Provider of some entry: only that provider's entries.
//
// Anything else is an *UnknownModelError carrying the name the client sent. The common case does not
// allocate.
func (c *Catalog) Resolve(model string) (cands []Entry, resolvedModel string, err error) {
	name := model
	for i := 0; i < maxAliasDepth; i++ {
		target, ok := c.aliases[name]
		if !ok {
			break
		}
		name = target
	}
	if list, ok := c.byModel[name]; ok {
		return list, name, nil
	}
	if i := strings.IndexByte(name, '/'); i > 0 {
		if pm, ok := c.byProvider[name[:i]]; ok {
			rest := name[i+1:]
			if list, ok := pm[rest]; ok {
				return list, rest, nil
			}
		}
	}
	return nil, "", &UnknownModelError{Model: model}
}

// Has reports whether model resolves to at least one candidate; it suits NewFallbacks' known argument.
func (c *Catalog) Has(model string) bool {
	_, _, err := c.Resolve(model)
	return err == nil
}

// Models returns every client-visible model name, aliases included, sorted. The caller owns the slice.
func (c *Catalog) Models() []string {
	return append([]string(nil), c.models...)
}

// Providers returns the provider ids that have at least one entry, sorted.
func (c *Catalog) Providers() []string {
	out := make([]string, 0, len(c.byProvider))
	for p := range c.byProvider {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
