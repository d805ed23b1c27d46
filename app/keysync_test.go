package app

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/proxytest"
	"github.com/cliproxy/cliproxy/proxycore/spend"
)

// TestKeysCreatedByTheCLIReachARunningProxy: `cliproxy keys create` in another process writes the key
// to the shared database; the running Core's key sync makes it usable, and a revocation likewise.
func TestKeysCreatedByTheCLIReachARunningProxy(t *testing.T) {
	up := proxytest.NewOpenAI(t)
	e := newTestEnv(t, fmt.Sprintf("[[openai]]\napi-key = \"sk-upstream-key\"\nbase-url = %q\nmodels = [\"gpt-4o\"]\n", up.URL+"/v1"))
	c := openTestCore(t, e, nil, nil)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	cli := openTestCore(t, e, nil, nil) // another process on the same config and data dir
	plain, key, err := cli.Keys().Create(context.Background(), keyParams("from-cli"))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := chat(t, c.BaseURL(), plain, "gpt-4o"); status != http.StatusUnauthorized {
		t.Fatalf("before the sync: %d %s", status, body)
	}
	c.syncKeys(context.Background())
	if status, body := chat(t, c.BaseURL(), plain, "gpt-4o"); status != http.StatusOK {
		t.Fatalf("after the sync: %d %s", status, body)
	}
	if err := cli.Keys().Revoke(context.Background(), key.ID); err != nil {
		t.Fatal(err)
	}
	c.syncKeys(context.Background())
	if status, body := chat(t, c.BaseURL(), plain, "gpt-4o"); status != http.StatusUnauthorized {
		t.Fatalf("after revocation in the other process: %d %s", status, body)
	}
}

func keyParams(name string) spend.KeyParams { return spend.KeyParams{Name: name} }
