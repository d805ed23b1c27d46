package spend

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/store"
)

const killChildEnv = "CLIPROXY_SPEND_KILL_CHILD_DB"

// TestKillChild is the subprocess half of TestWriterSurvivesKill9; it does nothing in a normal run.
// It adds rows at a steady pace, and once killBefore rows are in and a flush has covered them it prints
// "FLUSHED <n>" and keeps adding until it is killed.
func TestKillChild(t *testing.T) {
	path := os.Getenv(killChildEnv)
	if path == "" {
		t.Skip("subprocess helper for TestWriterSurvivesKill9")
	}
	st, err := store.Open(path, nil)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	w, err := NewWriter(st, WriterOptions{FlushInterval: 20 * time.Millisecond, BatchSize: 64}, nil)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	const killBefore = 1000
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		<-tick.C // pace: 5 rows per millisecond
		for j := range 5 {
			w.Add(Record{Time: time.Now(), RequestID: fmt.Sprint("r", i*5+j), Provider: "openai",
				Model: "gpt-5", InputTokens: 10, OutputTokens: 1, CostUSD: 0.001, Status: 200})
		}
		if (i+1)*5 == killBefore {
			for w.Flushed() < killBefore {
				time.Sleep(time.Millisecond)
			}
			fmt.Printf("FLUSHED %d\n", w.Flushed())
		}
	}
}

// TestWriterSurvivesKill9 kills a process that is writing spend rows and checks that every row the
// writer reported flushed before the kill is in the database, and that rollups agree with the log
// (rows and their rollup commit in one transaction).
func TestWriterSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a subprocess")
	}
	path := filepath.Join(t.TempDir(), "kill.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	flushed := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "FLUSHED "); ok {
			flushed, err = strconv.Atoi(n)
			if err != nil {
				t.Fatalf("bad line %q", line)
			}
			break
		}
		if strings.HasPrefix(line, "ERROR") {
			t.Fatalf("child: %s", line)
		}
	}
	if flushed < 0 {
		t.Fatalf("child exited without reporting a flush: %v", sc.Err())
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix: no deferred code, no Close
		t.Fatal(err)
	}
	killed = true
	_ = cmd.Wait()

	st, err := store.Open(path, nil)
	if err != nil {
		t.Fatalf("reopening after kill: %v", err)
	}
	defer st.Close()
	ctx := context.Background()
	n, err := st.CountSpend(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < int64(flushed) {
		t.Fatalf("after kill -9 the log has %d rows, fewer than the %d flushed before the kill", n, flushed)
	}
	_, total, err := st.SpendSummary(ctx, time.Time{}, time.Time{}, store.GroupNone)
	if err != nil {
		t.Fatal(err)
	}
	if total.Requests != n {
		t.Fatalf("rollups count %d requests but the log has %d rows", total.Requests, n)
	}
	t.Logf("flushed before kill: %d, rows after reopen: %d", flushed, n)
}
