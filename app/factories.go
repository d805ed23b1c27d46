package app

import (
	"github.com/cliproxy/cliproxy/proxycore/provider"
)

// defaultFactories maps each subscription provider id to the constructor of its executor. A provider
// missing here can still log in (its credential is kept), but its accounts show an error and are not
// routed until this build knows how to talk to it.
func defaultFactories() map[string]provider.AccountFactory {
	return map[string]provider.AccountFactory{}
}
