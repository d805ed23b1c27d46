package keystore

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
)

// Memory is an in-memory Store for tests of code that consumes a Store. Its zero value is ready.
type Memory struct {
	mu sync.Mutex // guards m
	m  map[string][]byte
}

var _ Store = (*Memory)(nil)

// Get returns a copy of the value stored under id.
func (s *Memory) Get(id string) ([]byte, error) {
	if err := validateID(id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	if !ok {
		return nil, fmt.Errorf("memory entry %q: %w", id, ErrNotFound)
	}
	return bytes.Clone(v), nil
}

// Put stores a copy of value under id.
func (s *Memory) Put(id string, value []byte) error {
	if err := validateID(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[id] = append([]byte{}, value...)
	return nil
}

// Delete removes id.
func (s *Memory) Delete(id string) error {
	if err := validateID(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[id]; !ok {
		return fmt.Errorf("memory entry %q: %w", id, ErrNotFound)
	}
	delete(s.m, id)
	return nil
}

// List returns the stored ids in sorted order.
func (s *Memory) List() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.m))
	for id := range s.m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}
