package app

import (
	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/claudecode"
	"github.com/cliproxy/cliproxy/proxycore/provider/codex"
	"github.com/cliproxy/cliproxy/proxycore/provider/copilot"
	"github.com/cliproxy/cliproxy/proxycore/provider/geminicli"
	"github.com/cliproxy/cliproxy/proxycore/provider/kiro"
	"github.com/cliproxy/cliproxy/proxycore/provider/qwen"
)

// defaultFactories maps each subscription provider id to the constructor of its executor. A provider
// missing here can still log in (its credential is kept), but its accounts show an error and are not
// routed until this build knows how to talk to it.
func defaultFactories() map[string]provider.AccountFactory {
	return map[string]provider.AccountFactory{
		claudecode.ID: claudecode.New,
		codex.ID:      codex.New,
		copilot.ID:    copilot.New,
		geminicli.ID:  geminicli.New,
		kiro.ID:       kiro.New,
		qwen.ID:       qwen.New,
	}
}
