#!/usr/bin/env bash
# make bench: Go micro-benchmarks of the hot paths, then the end-to-end load benchmark of `cliproxy serve`
# against the fake upstreams (direct versus through the proxy, alternating).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
echo "== micro-benchmarks (go test -bench, -benchmem)"
"$GO" test -run '^$' -bench . -benchmem -benchtime=${BENCHTIME:-300ms} ./proxycore/... 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true
echo
echo "== cross-format cost through the HTTP server (CPU per request, translated / identity; target <= 2.0)"
"$GO" test -run '^$' -bench 'ServerTranslation' -benchmem -benchtime=${BENCHTIME:-300ms} -count=1 ./proxycore/server 2>&1 |
	awk '/^BenchmarkServerTranslation\// {
		name = $1; sub(/^BenchmarkServerTranslation\//, "", name); sub(/-[0-9]+$/, "", name)
		for (i = 2; i < NF; i++) if ($(i+1) == "cpu-ns/op") cpu[name] = $i
	}
	END {
		split("json stream", modes, " ")
		for (m = 1; m <= 2; m++) {
			mode = modes[m]
			oc = cpu["openai-client->claude/" mode]; co = cpu["claude-client->openai/" mode]
			io = cpu["identity=openai/" mode]; ic = cpu["identity=claude/" mode]
			if (io > 0 && ic > 0) {
				printf "%-7s openai client -> claude: %8.0f ns cpu  (x%.2f of claude identity, x%.2f of openai identity)\n", mode, oc, oc/ic, oc/io
				printf "%-7s claude client -> openai: %8.0f ns cpu  (x%.2f of openai identity, x%.2f of claude identity)\n", mode, co, co/io, co/ic
			}
		}
	}'
echo
echo "== load benchmark (bin/cliproxy serve)"
"$GO" test -tags loadbench -run TestLoadBench -count=1 -v ./proxycore/server -args -bin "$PWD/bin/cliproxy" ${BENCH_ARGS:-} 2>&1 | grep -vE '^(=== RUN|--- PASS|PASS|ok )'
