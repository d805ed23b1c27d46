//go:build !headless

package app

// Headless is true in the server build (`go build -tags headless`, `make build-headless`): no tray app,
// no Fyne and no cgo, only the commands.
const Headless = false
