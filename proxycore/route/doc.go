// Package route decides which credential serves a request: it resolves client model names to
// candidate credentials (Catalog), picks one with a named selection strategy while tracking each
// credential's health and cooldowns (Router), turns upstream rate-limit hints into cooldowns
// (CooldownFromResponse), and describes retries (RetryPolicy) and model fallbacks (Fallbacks).
//
// The package is self-contained: it takes its own option structs, which the composition root fills
// from the configuration, and it never performs I/O.
package route
