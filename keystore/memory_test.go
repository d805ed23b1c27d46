package keystore

import (
	"errors"
	"testing"
)

// TestStoreContract runs the same behaviour checks against every backend.
func TestStoreContract(t *testing.T) {
	backends := []struct {
		name string
		open func(t *testing.T) Store
	}{
		{"memory", func(t *testing.T) Store { return &Memory{} }},
		{"file", func(t *testing.T) Store { return openFileT(t, t.TempDir(), rawKey(t)) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			if ids, err := s.List(); err != nil || len(ids) != 0 {
				t.Fatalf("empty List = %v, %v", ids, err)
			}
			v := []byte("value")
			if err := s.Put("b", v); err != nil {
				t.Fatal(err)
			}
			v[0] = 'X' // the store must have copied it
			if err := s.Put("a", []byte("other")); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get("b")
			if err != nil || string(got) != "value" {
				t.Fatalf("Get = %q, %v", got, err)
			}
			if ids, _ := s.List(); len(ids) != 2 || ids[0] != "a" || ids[1] != "b" {
				t.Fatalf("List = %v, want sorted [a b]", ids)
			}
			if err := s.Delete("b"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get("b"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get deleted = %v", err)
			}
			if err := s.Delete("b"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Delete missing = %v", err)
			}
			if err := s.Put("__index__", nil); !errors.Is(err, ErrInvalidID) {
				t.Fatalf("reserved id accepted: %v", err)
			}
		})
	}
}
