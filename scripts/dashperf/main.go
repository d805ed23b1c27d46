// Command dashperf is the helper of scripts/dashboard-perf.sh: it reads the client key of a demo data dir
// and sends a steady request rate to a proxy.
//
//	dashperf key DATADIR
//	dashperf load -url URL -key KEY [-rps 100] [-for 2m] [-model gpt-4o]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cliproxy/cliproxy/keystore"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dashperf key DATADIR | dashperf load -url URL -key KEY [-rps N] [-for D]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "key":
		err = printKey(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dashperf:", err)
		os.Exit(1)
	}
}

// printKey prints the generated client key kept in a demo data dir's file keystore (DATADIR/auth).
func printKey(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("key needs the demo data dir")
	}
	st, _, err := keystore.Open(keystore.Options{Backend: keystore.BackendFile, Dir: filepath.Join(args[0], "auth")}, nil)
	if err != nil {
		return err
	}
	b, err := st.Get("client-key")
	if err != nil {
		return err
	}
	fmt.Println(strings.TrimSpace(string(b)))
	return nil
}

// load sends -rps chat requests per second for -for on an absolute schedule (a late wake-up sends the
// missed requests at once, so a busy machine does not lower the rate) and prints the status codes.
func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	url := fs.String("url", "", "chat completions URL")
	key := fs.String("key", "", "client key")
	rps := fs.Int("rps", 100, "requests per second")
	dur := fs.Duration("for", 2*time.Minute, "how long")
	model := fs.String("model", "gpt-4o", "model to ask for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *rps <= 0 {
		return fmt.Errorf("load needs -url and a positive -rps")
	}
	body := []byte(`{"model":"` + *model + `","messages":[{"role":"user","content":"hello"}]}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	var mu sync.Mutex
	codes := map[string]int{}
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(*rps)
	n := int(*dur / interval)
	start := time.Now()
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := "error"
			req, _ := http.NewRequest(http.MethodPost, *url, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+*key)
			req.Header.Set("Content-Type", "application/json")
			if resp, err := client.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = fmt.Sprint(resp.StatusCode)
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s x%d", k, codes[k])
	}
	fmt.Printf("%d requests in %s: %s\n", n, time.Since(start).Round(time.Second), strings.Join(parts, ", "))
	return nil
}
