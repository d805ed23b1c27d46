package server

import "github.com/gorilla/mux"

// cacheStore offers a successful non-streaming answer to the response cache.
func (s *Server) cacheStore(x *exchange, status int, body []byte) {}

// registerExtra adds the routes of optional features (metrics, pass-through endpoints).
func (s *Server) registerExtra(m *mux.Router, api *mux.Router) {}
