package app

import "github.com/cliproxy/cliproxy/proxycore/server"

// managementRoutes returns the app's routes under /v0/management.
func (c *Core) managementRoutes() []server.MgmtRoute {
	return nil
}
