package server

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"
)

// Gateway bundles the optional gateway features. Each nil field turns its feature off.
type Gateway struct {
	// Keys authenticates virtual keys.
	Keys KeyAuthenticator
}

// KeyAuthenticator turns a presented virtual key into a Principal. It must answer from memory: it runs on
// every request.
type KeyAuthenticator interface {
	Authenticate(plaintext string) (*Principal, error)
}

// ErrUnknownKey is returned by a KeyAuthenticator for keys it does not know (as opposed to revoked or
// expired keys, whose errors are shown to the caller).
var ErrUnknownKey = errors.New("unknown key")

func isUnknownKey(err error) bool { return errors.Is(err, ErrUnknownKey) }

// cacheStore offers a successful non-streaming answer to the response cache.
func (s *Server) cacheStore(x *exchange, status int, body []byte) {}

// registerExtra adds the routes of optional features (metrics, pass-through endpoints).
func (s *Server) registerExtra(m *mux.Router, api *mux.Router) {}

var _ = http.StatusOK
