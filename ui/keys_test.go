package ui

import (
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

func TestKeysCreateFlow(t *testing.T) {
	h := newDemoHarness(t)
	k := h.ui.keys
	test.Tap(k.create)
	if k.form == nil {
		t.Fatal("Create key did not open the form")
	}
	f := k.form
	test.Type(f.name, "editor")
	test.Type(f.budget, "$10")
	test.Type(f.rpm, "30")
	test.Type(f.models, "claude-sonnet-4-5, gpt-5-codex")
	test.Tap(f.ok)

	if len(h.demo.created) != 1 {
		t.Fatalf("CreateKey calls = %d, want 1", len(h.demo.created))
	}
	want := KeyForm{Name: "editor", BudgetUSD: 10, Period: "monthly", RPM: 30,
		Models: []string{"claude-sonnet-4-5", "gpt-5-codex"}}
	if got := h.demo.created[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("CreateKey(%+v), want %+v", got, want)
	}
	if k.form != nil {
		t.Error("form still open after a successful create")
	}
	s := k.shown
	if s == nil {
		t.Fatal("the new key is not shown")
	}
	plain := s.key.Text
	if !strings.HasPrefix(plain, "sk-cp-") {
		t.Fatalf("shown key = %q", plain)
	}
	test.Tap(s.copy)
	if got := h.app.Clipboard().Content(); got != plain {
		t.Errorf("clipboard = %q, want the new key", got)
	}
	test.Tap(s.close)
	if k.shown != nil || s.key.Text != "" {
		t.Error("the key is still shown after Done")
	}
	// The list was refreshed: the new key is first and can be revoked.
	keys := h.demo.Keys()
	if _, ok := k.revoke[keys[0].ID]; !ok || keys[0].Name != "editor" {
		t.Errorf("new key %+v missing from the list", keys[0])
	}
	// The plaintext is not kept anywhere in the keys list.
	for _, obj := range k.list.Objects {
		if strings.Contains(test.RenderObjectToMarkup(obj), plain) {
			t.Fatal("the plaintext key appears in the keys list")
		}
	}
}

func TestKeysCreateValidation(t *testing.T) {
	h := newDemoHarness(t)
	k := h.ui.keys
	test.Tap(k.create)
	test.Type(k.form.budget, "lots")
	test.Tap(k.form.ok)
	if len(h.demo.created) != 0 {
		t.Fatal("CreateKey called with an invalid form")
	}
	if !k.form.errLabel.Visible() || !strings.HasPrefix(k.form.errLabel.Text, "Name:") {
		t.Errorf("error label = %q (visible %v), want a Name error", k.form.errLabel.Text, k.form.errLabel.Visible())
	}
	test.Type(k.form.name, "x")
	test.Tap(k.form.ok)
	if !strings.HasPrefix(k.form.errLabel.Text, "Budget:") {
		t.Errorf("error label = %q, want a Budget error", k.form.errLabel.Text)
	}
	test.Tap(k.form.cancel)
	if k.form != nil {
		t.Error("Cancel did not close the form")
	}
}

func TestParseKeyForm(t *testing.T) {
	tests := []struct {
		name                                  string
		kname, budget, rpm, tpm, models, days string
		want                                  KeyForm
		errPrefix                             string
	}{
		{name: "minimal", kname: "a", want: KeyForm{Name: "a", Period: "daily"}},
		{name: "full", kname: " b ", budget: "$2.5", rpm: "10", tpm: "1000", models: "m1,, m2 ", days: "30",
			want: KeyForm{Name: "b", Period: "daily", BudgetUSD: 2.5, RPM: 10, TPM: 1000, Models: []string{"m1", "m2"}, ExpireDays: 30}},
		{name: "no name", kname: "  ", errPrefix: "Name:"},
		{name: "negative budget", kname: "a", budget: "-1", errPrefix: "Budget:"},
		{name: "fractional rpm", kname: "a", rpm: "1.5", errPrefix: "Rate limit:"},
		{name: "bad tpm", kname: "a", tpm: "x", errPrefix: "Token limit:"},
		{name: "bad days", kname: "a", days: "-3", errPrefix: "Expires after:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseKeyForm(tt.kname, tt.budget, "daily", tt.rpm, tt.tpm, tt.models, tt.days)
			if tt.errPrefix != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.errPrefix) {
					t.Fatalf("err = %v, want prefix %q", err, tt.errPrefix)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestKeysRevokeConfirm(t *testing.T) {
	h := newDemoHarness(t)
	k := h.ui.keys
	b, ok := k.revoke["key-1"]
	if !ok {
		t.Fatal("no Revoke button for key-1")
	}
	if _, ok := k.revoke["key-3"]; ok {
		t.Error("an already revoked key has a Revoke button")
	}
	test.Tap(b)
	c := h.ui.lastConfirm
	if c == nil {
		t.Fatal("Revoke did not ask for confirmation")
	}
	test.Tap(c.cancel)
	if len(h.demo.revoked) != 0 {
		t.Fatal("Cancel revoked the key")
	}
	test.Tap(b)
	test.Tap(h.ui.lastConfirm.ok)
	if !reflect.DeepEqual(h.demo.revoked, []string{"key-1"}) {
		t.Fatalf("revoked = %v, want [key-1]", h.demo.revoked)
	}
	if _, ok := k.revoke["key-1"]; ok {
		t.Error("list not refreshed: key-1 still has a Revoke button")
	}
}
