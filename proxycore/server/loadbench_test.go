//go:build loadbench

package server

// The load benchmark behind `make bench`: the real `cliproxy serve` binary in a child process in front of a
// fake upstream, against the same fake hit directly, run alternately in one process tree. It prints
// requests/s, p50, p99, the proxy/direct ratio, the proxy's CPU per request and its RSS. The idle RSS of
// the headless build (-headless-bin, `make build-headless`) is measured too when that binary exists.
//
//	go test -tags loadbench -run TestLoadBench -v ./proxycore/server -args -bin ../../bin/cliproxy

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

var (
	benchBin      = flag.String("bin", "../../bin/cliproxy", "cliproxy binary to measure")
	benchHeadless = flag.String("headless-bin", "../../bin/cliproxy-headless", "headless build whose idle RSS is reported too (skipped when missing; \"\" skips it)")
	benchDuration = flag.Duration("phase", 2*time.Second, "length of one measured phase")
	benchRounds   = flag.Int("rounds", 3, "alternating direct/proxy rounds per scenario")
	benchOnly     = flag.String("only", "", "run only the scenarios whose name contains this text")
)

type scenario struct {
	name        string
	path        string // client path
	body        []byte
	conc        int
	stream      bool
	direct      string // direct URL ("" = no direct counterpart)
	floor       bool   // also measured through the minimal net/http proxy
	contentType string
	header      http.Header
}

type phaseResult struct {
	n        int
	failures int
	elapsed  time.Duration
	lat      []time.Duration
	cpu      time.Duration // proxy CPU during the phase
}

func (r phaseResult) rps() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r phaseResult) pct(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return r.lat[int(float64(len(r.lat)-1)*q)]
}

func TestLoadBench(t *testing.T) {
	bin, err := filepath.Abs(*benchBin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("build the binary first (make build): %v", err)
	}
	openaiUp, err := proxytest.StartOpenAI(proxytest.WithoutRecording())
	if err != nil {
		t.Fatal(err)
	}
	defer openaiUp.Close()
	claudeUp, err := proxytest.StartAnthropic(proxytest.WithoutRecording())
	if err != nil {
		t.Fatal(err)
	}
	defer claudeUp.Close()
	openaiUp.SetDefault(proxytest.Reply{StreamChunks: 18})
	claudeUp.SetDefault(proxytest.Reply{StreamChunks: 18})

	dir := t.TempDir()
	config := func(port int) string {
		path := filepath.Join(dir, fmt.Sprintf("config-%d.toml", port))
		cfg := fmt.Sprintf(`port = %d
api-keys = ["bench-key"]
[health-tracking]
enable = true
[[openai]]
api-key = "up-key"
base-url = "%s/v1"
models = ["gpt-4o"]
[[anthropic]]
api-key = "up-key"
base-url = "%s"
models = ["claude-sonnet-4-5"]
`, port, openaiUp.URL, claudeUp.URL)
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	// The headless build first, alone: only its idle RSS is of interest.
	var headlessIdle string
	if *benchHeadless != "" {
		hbin, err := filepath.Abs(*benchHeadless)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(hbin); err != nil {
			headlessIdle = fmt.Sprintf("idle RSS of %s: not measured (%v; make build-headless)\n", filepath.Base(hbin), err)
		} else {
			hdir := filepath.Join(dir, "headless") // its own data dir and database
			if err := os.Mkdir(hdir, 0o700); err != nil {
				t.Fatal(err)
			}
			cmd := startServe(t, hbin, config(freePort(t)), hdir)
			time.Sleep(500 * time.Millisecond)
			headlessIdle = fmt.Sprintf("idle RSS of `%s serve`: %s\n", filepath.Base(hbin), readMem(cmd.Process.Pid))
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}

	// The floor: a minimal proxy built from the standard library alone, in its own process like serve, so
	// the figures show what any net/http proxy pays here for the extra process and its two connections.
	floorPort := freePort(t)
	floorCmd := exec.Command(os.Args[0], "-test.run=^TestFloorProxyForLoadBench$")
	floorCmd.Env = append(os.Environ(), "CLIPROXY_FLOOR_LISTEN=127.0.0.1:"+strconv.Itoa(floorPort), "CLIPROXY_FLOOR_UPSTREAM="+openaiUp.URL)
	waitListening(t, floorCmd)
	defer func() { _ = floorCmd.Process.Kill(); _ = floorCmd.Wait() }()
	floorURL := "http://127.0.0.1:" + strconv.Itoa(floorPort)

	port := freePort(t)
	cmd := startServe(t, bin, config(port), dir)
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	proxyURL := "http://127.0.0.1:" + strconv.Itoa(port)
	pid := cmd.Process.Pid
	time.Sleep(500 * time.Millisecond) // let the runtime settle before reading the idle RSS
	idle := readMem(pid)

	chatBody := []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"You are a concise assistant."},{"role":"user","content":"` + strings.Repeat("Summarise the design of a proxy. ", 24) + `"}],"max_tokens":200}`)
	chatStream := bytes.Replace(chatBody, []byte(`"max_tokens":200`), []byte(`"max_tokens":200,"stream":true`), 1)
	chatToClaude := bytes.Replace(chatBody, []byte(`"gpt-4o"`), []byte(`"claude-sonnet-4-5"`), 1)
	chatToClaudeStream := bytes.Replace(chatStream, []byte(`"gpt-4o"`), []byte(`"claude-sonnet-4-5"`), 1)
	claudeBody := []byte(`{"model":"gpt-4o","max_tokens":200,"system":"You are a concise assistant.","messages":[{"role":"user","content":"` + strings.Repeat("Summarise the design of a proxy. ", 24) + `"}]}`)
	claudeStream := bytes.Replace(claudeBody, []byte(`"max_tokens":200`), []byte(`"max_tokens":200,"stream":true`), 1)
	claudeIdentity := bytes.Replace(claudeBody, []byte(`"gpt-4o"`), []byte(`"claude-sonnet-4-5"`), 1)

	scenarios := []scenario{
		{name: "chat c=1", floor: true, path: "/v1/chat/completions", body: chatBody, conc: 1, direct: openaiUp.URL + "/v1/chat/completions"},
		{name: "chat c=16", floor: true, path: "/v1/chat/completions", body: chatBody, conc: 16, direct: openaiUp.URL + "/v1/chat/completions"},
		{name: "chat c=128", floor: true, path: "/v1/chat/completions", body: chatBody, conc: 128, direct: openaiUp.URL + "/v1/chat/completions"},
		{name: "chat stream c=16", floor: true, path: "/v1/chat/completions", body: chatStream, conc: 16, stream: true, direct: openaiUp.URL + "/v1/chat/completions"},
		{name: "messages c=16 (identity)", path: "/v1/messages", body: claudeIdentity, conc: 16, direct: claudeUp.URL + "/v1/messages"},
		{name: "openai->claude c=16", path: "/v1/chat/completions", body: chatToClaude, conc: 16},
		{name: "openai->claude stream c=16", path: "/v1/chat/completions", body: chatToClaudeStream, conc: 16, stream: true},
		{name: "claude->openai c=16", path: "/v1/messages", body: claudeBody, conc: 16},
		{name: "claude->openai stream c=16", path: "/v1/messages", body: claudeStream, conc: 16, stream: true},
	}
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr}

	fmt.Printf("\ncliproxy load benchmark (%d rounds of %v per side, alternating; 2-core machine, load generator and fake upstream in this process)\n", *benchRounds, *benchDuration)
	fmt.Printf("idle RSS of `%s serve`: %s\n", filepath.Base(bin), idle)
	fmt.Print(headlessIdle)
	fmt.Println()
	fmt.Printf("%-28s %10s %10s %10s %10s %10s %10s %8s %12s\n", "scenario", "direct/s", "proxy/s", "ratio", "d-p50", "p-p50", "p-p99", "+p50", "cpu/req")
	for _, sc := range scenarios {
		if *benchOnly != "" && !strings.Contains(sc.name, *benchOnly) {
			continue
		}
		var d, p, fl phaseResult
		for r := 0; r < *benchRounds; r++ {
			if sc.direct != "" {
				d = merge(d, runPhase(t, client, sc, sc.direct, 0))
			}
			p = merge(p, runPhase(t, client, sc, proxyURL+sc.path, pid))
			if sc.floor {
				fl = merge(fl, runPhase(t, client, sc, floorURL+sc.path, floorCmd.Process.Pid))
			}
		}
		ratio, dp50 := "-", "-"
		added := "-"
		if sc.direct != "" && d.n > 0 {
			ratio = fmt.Sprintf("%.2f", p.rps()/d.rps())
			dp50 = fmtDur(d.pct(0.5))
			added = fmtDur(p.pct(0.5) - d.pct(0.5))
		}
		cpu := time.Duration(0)
		if p.n > 0 {
			cpu = p.cpu / time.Duration(p.n)
		}
		fmt.Printf("%-28s %10s %10.0f %10s %10s %10s %10s %8s %12s\n", sc.name, fmtRPS(d), p.rps(), ratio, dp50, fmtDur(p.pct(0.5)), fmtDur(p.pct(0.99)), added, cpu)
		if sc.floor && fl.n > 0 && d.n > 0 {
			fmt.Printf("%-28s %10s %10.0f %10.2f %10s %10s %10s %8s %12s\n", "  floor: net/http proxy", "", fl.rps(), fl.rps()/d.rps(), "",
				fmtDur(fl.pct(0.5)), fmtDur(fl.pct(0.99)), fmtDur(fl.pct(0.5)-d.pct(0.5)), fl.cpu/time.Duration(fl.n))
		}
		if p.failures > 0 || d.failures > 0 {
			fmt.Printf("  failures: direct %d, proxy %d\n", d.failures, p.failures)
		}
	}
	fmt.Printf("\nRSS of `%s serve` after the run: %s\n", filepath.Base(bin), readMem(pid))
}

// TestFloorProxyForLoadBench is not a test of its own: TestLoadBench runs it in a child process as the floor it
// compares cliproxy with, a minimal proxy made of net/http's server, http.Transport and io.Copy.
func TestFloorProxyForLoadBench(t *testing.T) {
	listen, upstream := os.Getenv("CLIPROXY_FLOOR_LISTEN"), os.Getenv("CLIPROXY_FLOOR_UPSTREAM")
	if listen == "" || upstream == "" {
		t.Skip("run by TestLoadBench as its floor")
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}}
	fmt.Fprintln(os.Stderr, "floor proxy listening on", listen)
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, upstream+r.URL.Path, r.Body)
		req.ContentLength = r.ContentLength
		req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
		resp, err := client.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
}

// startServe starts `bin serve --config cfgPath` with its home in dir and returns once it listens.
func startServe(t *testing.T, bin, cfgPath, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir, "HOME="+dir)
	waitListening(t, cmd)
	return cmd
}

// waitListening starts cmd and returns once it says "listening on" on stderr.
func waitListening(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("%s did not start", strings.Join(cmd.Args, " "))
	}
}

func fmtRPS(r phaseResult) string {
	if r.n == 0 {
		return "-"
	}
	return strconv.FormatFloat(r.rps(), 'f', 0, 64)
}

func fmtDur(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64) + "ms"
}

func merge(a, b phaseResult) phaseResult {
	a.n += b.n
	a.failures += b.failures
	a.elapsed += b.elapsed
	a.lat = append(a.lat, b.lat...)
	a.cpu += b.cpu
	return a
}

// runPhase drives url with sc.conc workers for the phase duration.
func runPhase(t *testing.T, client *http.Client, sc scenario, url string, pid int) phaseResult {
	var (
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, 1<<14)
		n, fails atomic.Int64
	)
	ctx, cancel := context.WithTimeout(context.Background(), *benchDuration)
	defer cancel()
	cpu0 := cpuTime(pid)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < sc.conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			buf := make([]byte, 32<<10)
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(sc.body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer bench-key")
				req.Header.Set("X-Api-Key", "up-key")
				req.Header.Set("Anthropic-Version", "2023-06-01")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					fails.Add(1)
					continue
				}
				for {
					if _, err := resp.Body.Read(buf); err != nil {
						if err != io.EOF {
							fails.Add(1)
						}
						break
					}
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					fails.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
				n.Add(1)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	return phaseResult{n: int(n.Load()), failures: int(fails.Load()), elapsed: elapsed, lat: lat, cpu: cpuTime(pid) - cpu0}
}

// cpuTime returns the user+system CPU time of pid from /proc (0 for pid 0 or where /proc is missing).
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ is 100 on Linux
}

// readMem formats the resident memory of pid from /proc/PID/status: the total, the anonymous part (heap,
// stacks) and the file-backed part (the mapped pages of the binary, which is larger right after the binary
// was written, while the page cache still holds it in large folios, than after it was read back from disk).
func readMem(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	kib := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "RssAnon:" || f[0] == "RssFile:") {
			v, _ := strconv.ParseFloat(f[1], 64)
			kib[f[0]] = v
		}
	}
	return fmt.Sprintf("%.1f MiB (anon %.1f, file %.1f)", kib["VmRSS:"]/1024, kib["RssAnon:"]/1024, kib["RssFile:"]/1024)
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
