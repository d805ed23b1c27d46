#!/usr/bin/env bash
# make bench: Go micro-benchmarks of the hot paths, then the end-to-end load benchmark of `cliproxy serve`
# against the fake upstreams (direct versus through the proxy, alternating).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
echo "== micro-benchmarks (go test -bench, -benchmem)"
"$GO" test -run '^$' -bench . -benchmem -benchtime=${BENCHTIME:-300ms} ./proxycore/... 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true
echo
echo "== load benchmark (bin/cliproxy serve)"
"$GO" test -tags loadbench -run TestLoadBench -count=1 -v ./proxycore/server -args -bin "$PWD/bin/cliproxy" ${BENCH_ARGS:-} 2>&1 | grep -vE '^(=== RUN|--- PASS|PASS|ok )'
