# CLIProxy Desktop. `make run` starts the app, `make test` runs every check CI runs.
GO       ?= go
BIN      := bin/cliproxy
HEADLESS := bin/cliproxy-headless
CONFIG   ?=
GOFILES   = $(shell find . -name '*.go' -not -path './.git/*' -not -path './bin/*')

.PHONY: all deps deps-test build build-headless run serve demo test bench lint package package-windows screenshots screenshots-deps clean

all: build

deps:
	@scripts/deps.sh

deps-test:
	@scripts/deps.sh --test

# The tray app leaves out Fyne's bundled colour-emoji font (build tag no_emoji): Fyne parses it for every
# text style the dashboard draws, which holds about 9 MiB of heap; emoji fall back to the system's fonts.
GUI_TAGS ?= no_emoji

build: deps
	$(GO) build -tags "$(GUI_TAGS)" -trimpath -o $(BIN) .

# The server build: the same commands without the tray app, Fyne or cgo, as one static binary that needs no
# desktop packages. Its `serve` takes about half the memory of bin/cliproxy's (docs/development.md).
build-headless:
	CGO_ENABLED=0 $(GO) build -tags headless -trimpath -o $(HEADLESS) .

# The tray app. Without a display it explains how to run the headless proxy instead.
run: build
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ] && [ "$$(uname -s)" = "Linux" ]; then \
		echo "No display found (DISPLAY/WAYLAND_DISPLAY unset): the tray app needs a desktop session."; \
		echo "Run the proxy headless instead:  make serve   (or: $(BIN) serve)"; \
		exit 1; \
	fi
	$(BIN) $(if $(CONFIG),--config $(CONFIG))

serve: build-headless
	$(HEADLESS) serve $(if $(CONFIG),--config $(CONFIG))

# The tray app on a temporary data dir full of synthetic accounts, health and spend (removed on quit).
demo: build
	$(BIN) --demo

test: deps-test
	@echo "== gofmt"; out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@echo "== go vet"; $(GO) vet ./...
	@echo "== go test -race"; scripts/test.sh

bench: build build-headless
	scripts/bench.sh

lint:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null 2>&1; then staticcheck ./...; else echo "staticcheck not installed: go install honnef.co/go/tools/cmd/staticcheck@latest"; fi

# dist/CLIProxy.tar.xz with `fyne package` and the server archive dist/cliproxy-headless-linux-<arch>.tar.gz
# (see packaging/README.md); not part of CI.
package: deps
	packaging/package-linux.sh
	packaging/package-headless.sh

# dist/CLIProxy.exe cross-compiled with mingw-w64 (apt-get install gcc-mingw-w64-x86-64-posix).
package-windows: deps
	packaging/package-windows.sh

# docs/screenshots/*.png from the demo under Xvfb with a tray host; `make screenshots-deps` installs them.
screenshots: build
	scripts/screenshots.sh

screenshots-deps:
	scripts/screenshots.sh --install-deps --deps-only

clean:
	rm -rf bin dist
