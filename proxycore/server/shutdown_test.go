package server

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/config"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// TestShutdownLetsStreamsFinish starts the real listener, begins a stream that the upstream holds open,
// asks the server to shut down, and checks that the stream still completes before Shutdown returns.
func TestShutdownLetsStreamsFinish(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	cfg, err := config.Parse([]byte("api-keys = [\""+clientKeyForTests+"\"]\n"+openAIConfig(up)), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Port = 0 // any free port
	s, err := New(Options{Config: cfg, Logger: newSecretLogger(t, clientKeyForTests, upstreamKey)})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()

	resume := make(chan struct{})
	up.Enqueue(proxytest.Reply{PauseAfter: 2, Resume: resume})
	req, _ := http.NewRequest("POST", "http://"+addr.String()+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+clientKeyForTests)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if _, err := rd.ReadString('\n'); err != nil { // the stream has started
		t.Fatal(err)
	}

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	// New connections are refused once shutdown began; poll until that is the case.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := (&http.Client{Timeout: time.Second}).Get("http://" + addr.String() + "/health/liveness")
		if err != nil {
			break
		}
		c.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener kept accepting connections after Shutdown")
		}
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a stream was still in flight", err)
	default:
	}
	close(resume)
	var rest strings.Builder
	for {
		line, err := rd.ReadString('\n')
		rest.WriteString(line)
		if err != nil {
			break
		}
	}
	if !strings.Contains(rest.String(), "data: [DONE]") {
		t.Errorf("the stream did not finish normally: %q", rest.String())
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
