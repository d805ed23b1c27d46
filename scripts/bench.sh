#!/usr/bin/env bash
# make bench: Go micro-benchmarks of the hot paths, then the end-to-end load benchmark of `cliproxy serve`
# against the fake upstreams (direct versus through the proxy, alternating).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
echo "== micro-benchmarks (go test -bench, -benchmem)"
"$GO" test -run '^$' -bench . -skip 'GatewayOverhead' -benchmem -benchtime=${BENCHTIME:-300ms} ./proxycore/... 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true
echo
# The gateway's own cost: the server's handler driven in-process (upstream as an in-memory RoundTripper),
# every gateway feature off versus on, process CPU per request with the spend and request-log writers
# flushed inside the timed region. Median of GATEWAY_COUNT runs, as the difference to features=off.
count=${GATEWAY_COUNT:-5}
echo "== gateway overhead: CPU per request of the middleware chain, all features on minus off (median of $count runs; target <= 30 us)"
"$GO" test -run '^$' -bench 'GatewayOverhead' -benchmem -benchtime=${GATEWAY_BENCHTIME:-4000x} -count="$count" ./proxycore/server 2>&1 |
	awk '/^BenchmarkGatewayOverhead\// {
		n = split($1, p, "/"); size = p[2]; level = p[3]; sub(/^features=/, "", level); sub(/-[0-9]+$/, "", level)
		for (i = 2; i < NF; i++) if ($(i+1) == "cpu-ns/op") print size, level, $i
	}
	/^(FAIL|---|panic)/ { print "error", "error", 0; print > "/dev/stderr" }' |
	sort -k1,1 -k2,2 -k3,3n |
	awk '{ k = $1 " " $2; v[k, ++n[k]] = $3; if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
	END {
		for (j = 1; j <= m; j++) { k = order[j]; c = n[k]; med[k] = (c % 2) ? v[k, (c+1)/2] : (v[k, c/2] + v[k, c/2+1]) / 2 }
		split("body=1KB body=16KB", sizes, " ")
		for (s = 1; s <= 2; s++) {
			sz = sizes[s]; off = med[sz " off"]
			if (off == "") continue
			printf "%-10s features=off %8.1f us cpu\n", sz, off / 1000
			split("all-but-request-log all", levels, " ")
			for (l = 1; l <= 2; l++) {
				on = med[sz " " levels[l]]
				if (on == "") continue
				d = (on - off) / 1000
				printf "%-10s features=%-19s %8.1f us cpu   overhead %+6.1f us  %s\n", sz, levels[l], on / 1000, d, (d <= 30 ? "(target met)" : sprintf("(over target by %.1f us)", d - 30))
			}
		}
		if (("error error") in seen) { print "gateway benchmark failed"; exit 1 }
	}'
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
echo "== load benchmark (bin/cliproxy serve; idle RSS of bin/cliproxy-headless serve too)"
"$GO" test -tags loadbench -run TestLoadBench -count=1 -v ./proxycore/server -args -bin "$PWD/bin/cliproxy" -headless-bin "$PWD/bin/cliproxy-headless" ${BENCH_ARGS:-} 2>&1 | grep -vE '^(=== RUN|--- PASS|PASS|ok )'
