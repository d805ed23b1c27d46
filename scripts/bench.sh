#!/usr/bin/env bash
# make bench: Go micro-benchmarks of the hot paths, then the end-to-end load benchmark of `cliproxy serve`
# against the fake upstreams (direct versus through the proxy, alternating).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
echo "== micro-benchmarks (go test -bench, -benchmem)"
"$GO" test -run '^$' -bench . -skip 'GatewayOverhead' -benchmem -benchtime=${BENCHTIME:-300ms} ./proxycore/... 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true
echo
# The gateway's own cost: the server's handler driven in-process (upstream as an in-memory RoundTripper)
# with every gateway feature off, all but the request log, and all on, taking turns in blocks of requests;
# process CPU per request with the spend and request-log writers flushed inside each block. Medians of
# GATEWAY_COUNT runs of the CPU per request and of the difference to features=off.
count=${GATEWAY_COUNT:-5}
echo "== gateway overhead: CPU per request of the middleware chain, features on minus off (median of $count runs; target <= 30 us)"
"$GO" test -run '^$' -bench 'GatewayOverhead' -benchmem -benchtime=${GATEWAY_BENCHTIME:-8000x} -count="$count" ./proxycore/server 2>&1 |
	awk '/^BenchmarkGatewayOverhead\// {
		size = $1; sub(/^BenchmarkGatewayOverhead\//, "", size); sub(/-[0-9]+$/, "", size)
		for (i = 2; i < NF; i++) if ($(i+1) ~ /^(off|nolog|all)-((cpu|overhead)-ns|B)\/op$/) { m = $(i+1); sub(/-ns\/op$/, "", m); sub(/\/op$/, "", m); print size, m, $i }
	}
	/^(FAIL|---|panic)/ { print "error", "error", 0; print > "/dev/stderr" }' |
	sort -k1,1V -k2,2 -k3,3n |
	awk '{ k = $1 " " $2; v[k, ++n[k]] = $3; seen[k] = 1; if (!($1 in sz)) { sz[$1] = 1; order[++m] = $1 } }
	END {
		for (k in n) { c = n[k]; med[k] = (c % 2) ? v[k, (c+1)/2] : (v[k, c/2] + v[k, c/2+1]) / 2 }
		for (j = 1; j <= m; j++) {
			s = order[j]
			if (s == "error") continue
			printf "%-10s features=off                 %7.1f us cpu %6.1f KB allocated\n", s, med[s " off-cpu"] / 1000, med[s " off-B"] / 1024
			split("nolog all", levels, " "); split("all-but-request-log all", names, " ")
			for (l = 1; l <= 2; l++) {
				d = med[s " " levels[l] "-overhead"] / 1000
				printf "%-10s features=%-19s %7.1f us cpu %6.1f KB allocated   overhead %+6.1f us  %s\n", s, names[l],
					med[s " " levels[l] "-cpu"] / 1000, med[s " " levels[l] "-B"] / 1024, d,
					(d <= 30 ? "(target met)" : sprintf("(over the target by %.1f us)", d - 30))
			}
		}
		if ("error error" in seen) { print "gateway benchmark failed"; exit 1 }
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
