// Package realkeychain holds the test that runs the keystore against the real OS keychain. It lives in
// its own package because the keystore unit tests replace go-keyring's provider with its in-memory
// mock for the whole test binary, which would silently turn this test into a mock test.
package realkeychain
