package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
)

func openTest(t *testing.T, opts ...Option) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "db", "cliproxy.db"), nil, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOpenCreatesPrivateDirAndMigrates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	path := filepath.Join(dir, "cliproxy.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("dir mode = %o, want 700", perm)
	}
	ctx := context.Background()
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != len(migrations()) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(migrations()))
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk, sync int
	if err := s.db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if err := s.db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 1 {
		t.Errorf("synchronous = %d, %v; want 1 (NORMAL)", sync, err)
	}
	if err := s.InsertSpend(ctx, []SpendRow{{Time: time.Now(), Model: "m"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening replays nothing and keeps the data.
	s2, err := Open(path, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if n, err := s2.CountSpend(ctx); err != nil || n != 1 {
		t.Fatalf("CountSpend after reopen = %d, %v; want 1", n, err)
	}
}

func TestOpenGarbageFileExplainsWhatToDo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cliproxy.db")
	garbage := []byte(strings.Repeat("this is not a database, just some garbage bytes\n", 200))
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, nil)
	if err == nil {
		t.Fatal("Open of a garbage file succeeded")
	}
	msg := err.Error()
	for _, want := range []string{path, "not a valid SQLite database", "move it aside"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}

func TestOpenLockedFileSaysLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cliproxy.db")
	holder, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	ctx := context.Background()
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A rollback-journal database under an exclusive lock can be neither read nor written by others.
	if _, err := conn.ExecContext(ctx, `CREATE TABLE x(a); BEGIN EXCLUSIVE; INSERT INTO x VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, `ROLLBACK`)
	_, err = Open(path, nil, WithBusyTimeout(50*time.Millisecond))
	if err == nil {
		t.Fatal("Open of a locked database succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "locked by another process") {
		t.Errorf("error %q should name the path and say it is locked", msg)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cliproxy.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE schema_version SET version = 999`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(path, nil)
	if err == nil || !strings.Contains(err.Error(), "newer than this program supports") {
		t.Fatalf("Open = %v, want a newer-schema error", err)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := Open("", nil); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

func TestDefaultPathEndsInAppDir(t *testing.T) {
	p := DefaultPath()
	if filepath.Base(p) != "cliproxy.db" || filepath.Base(filepath.Dir(p)) != "cliproxy" {
		t.Fatalf("DefaultPath() = %q, want .../cliproxy/cliproxy.db", p)
	}
}

func TestHealthSamples(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	base := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	var in []HealthSample
	for i := range 6 {
		cred := "a"
		if i%2 == 1 {
			cred = "b"
		}
		in = append(in, HealthSample{Time: base.Add(time.Duration(i) * time.Minute), CredentialID: cred,
			State: "HEALTHY", Requests: int64(10 + i), Failures: int64(i), P95MS: int64(100 * i)})
	}
	if err := s.InsertHealthSamples(ctx, in); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		cred     string
		from, to time.Time
		want     []int64 // Requests of the expected samples, in order
	}{
		{"all", "", time.Time{}, time.Time{}, []int64{10, 11, 12, 13, 14, 15}},
		{"one credential", "b", time.Time{}, time.Time{}, []int64{11, 13, 15}},
		{"window", "a", base.Add(time.Minute), base.Add(4 * time.Minute), []int64{12}},
		{"unknown", "zzz", time.Time{}, time.Time{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.HealthSamples(ctx, tt.cred, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			var reqs []int64
			for _, h := range got {
				reqs = append(reqs, h.Requests)
			}
			if len(reqs) != len(tt.want) {
				t.Fatalf("got %v, want %v", reqs, tt.want)
			}
			for i := range reqs {
				if reqs[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", reqs, tt.want)
				}
			}
		})
	}
	if n, err := s.PruneHealthSamples(ctx, base.Add(3*time.Minute)); err != nil || n != 3 {
		t.Fatalf("PruneHealthSamples = %d, %v; want 3", n, err)
	}
}

func TestAccounts(t *testing.T) {
	fc := clock.NewFake(time.Time{})
	s := openTest(t, WithClock(fc))
	ctx := context.Background()
	if err := s.UpsertAccount(ctx, Account{ID: "cc-1", Provider: "claude-code", Label: "work"}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertAccount(ctx, Account{ID: "cx-1", Provider: "codex", Label: "me"}); err != nil {
		t.Fatal(err)
	}
	used := fc.Now().Add(time.Hour)
	if err := s.TouchAccount(ctx, "cc-1", used); err != nil {
		t.Fatal(err)
	}
	// An upsert with a login records it; one without (a rename) keeps it, and creation and last-used times
	// are always kept.
	login := fc.Now().Add(2 * time.Hour)
	if err := s.UpsertAccount(ctx, Account{ID: "cc-1", Provider: "claude-code", Label: "work", LoginAt: login}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertAccount(ctx, Account{ID: "cc-1", Provider: "claude-code", Label: "personal",
		CreatedAt: fc.Now().Add(99 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAccountDisabled(ctx, "cx-1", true); err != nil {
		t.Fatal(err)
	}
	a, err := s.GetAccount(ctx, "cc-1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Label != "personal" || !a.CreatedAt.Equal(fc.Now()) || a.LastUsedAt == nil || !a.LastUsedAt.Equal(used) || !a.LoginAt.Equal(login) {
		t.Errorf("GetAccount = %+v", a)
	}
	list, err := s.ListAccounts(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "cc-1" || !list[1].Disabled {
		t.Fatalf("ListAccounts = %+v, %v", list, err)
	}
	if err := s.DeleteAccount(ctx, "cc-1"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"get":     func() error { _, err := s.GetAccount(ctx, "cc-1"); return err }(),
		"delete":  s.DeleteAccount(ctx, "cc-1"),
		"touch":   s.TouchAccount(ctx, "nope", used),
		"disable": s.SetAccountDisabled(ctx, "nope", true),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of a missing account = %v, want ErrNotFound", name, err)
		}
	}
}

func TestKeysCRUD(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	exp := created.Add(48 * time.Hour)
	k := KeyRow{ID: "key_1", Name: "ci", Hash: strings.Repeat("ab", 32), Prefix: "sk-cp-ab", Last4: "wxyz",
		Models: []string{"claude-*", "gpt-5"}, BudgetUSD: 10, BudgetPeriod: "monthly", PeriodStart: created,
		RPM: 60, TPM: 1000, MaxParallel: 2, ExpiresAt: &exp, CreatedAt: created}
	if err := s.InsertKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertKey(ctx, KeyRow{ID: "key_2", Hash: strings.Repeat("cd", 32), CreatedAt: created.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	dup := k
	dup.ID = "key_3"
	if err := s.InsertKey(ctx, dup); err == nil {
		t.Error("a second key with the same hash was accepted")
	}
	got, err := s.GetKey(ctx, "key_1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "ci" || len(got.Models) != 2 || got.Models[0] != "claude-*" || got.RPM != 60 ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.RevokedAt != nil || !got.PeriodStart.Equal(created) {
		t.Errorf("GetKey = %+v", got)
	}
	if err := s.UpdateKeySpend(ctx, []KeySpend{{ID: "key_1", PeriodStart: exp, SpentUSD: 1.5}, {ID: "gone"}}); err != nil {
		t.Fatal(err)
	}
	at := created.Add(time.Hour)
	if err := s.RevokeKey(ctx, "key_1", at); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, "key_1", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListKeys(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListKeys = %+v, %v", list, err)
	}
	if l := list[0]; l.ID != "key_1" || l.SpentUSD != 1.5 || !l.PeriodStart.Equal(exp) || l.RevokedAt == nil || !l.RevokedAt.Equal(at) {
		t.Errorf("key_1 after spend+revoke = %+v", l)
	}
	if list[1].Models == nil || len(list[1].Models) != 0 {
		t.Errorf("key without models should list an empty allow-list, got %#v", list[1].Models)
	}
	if err := s.DeleteKey(ctx, "key_2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetKey(ctx, "key_2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetKey of deleted key = %v, want ErrNotFound", err)
	}
	if err := s.RevokeKey(ctx, "key_2", at); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeKey of deleted key = %v, want ErrNotFound", err)
	}
}

func TestMigrationsApplyInOrderAndAtomically(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	base := migrations()
	next := append(append([]string{}, base...),
		`CREATE TABLE extra (a INTEGER); INSERT INTO extra VALUES (1);`,
		`CREATE TABLE half (a INTEGER); INSERT INTO nowhere VALUES (1);`, // fails half-way
		`CREATE TABLE never (a INTEGER);`,
	)
	err := applyMigrations(ctx, s.db, s.logger, s.path, next)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d", len(base)+2)) {
		t.Fatalf("applyMigrations = %v, want a failure naming migration %d", err, len(base)+2)
	}
	if v, _ := s.SchemaVersion(ctx); v != len(base)+1 {
		t.Fatalf("version = %d, want %d (the good migration only)", v, len(base)+1)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name IN ('half', 'never')`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("tables of failed or later migrations exist (%d, %v)", n, err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT a FROM extra`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("applied migration lost: %d, %v", n, err)
	}
	// Fixing the list lets the remaining ones apply.
	next[len(base)+1] = `CREATE TABLE half (a INTEGER);`
	if err := applyMigrations(ctx, s.db, s.logger, s.path, next); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.SchemaVersion(ctx); v != len(next) {
		t.Fatalf("version = %d, want %d", v, len(next))
	}
}
