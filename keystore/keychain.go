package keystore

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/zalando/go-keyring"
)

// chunkLimit is the largest secret written to one keychain entry. Windows Credential Manager refuses
// secrets over 2,560 bytes (go-keyring ErrSetDataTooBig docs; PLATFORM.md "Keychain"), so long OAuth
// token sets are split into numbered chunk entries.
const chunkLimit = 2000

// indexID is the entry listing every credential id, because keychains cannot enumerate portably.
const indexID = "__index__"

// probeID is written and removed again when Open checks that the keychain works.
const probeID = "__probe__"

// keyring is the part of go-keyring the store needs; tests wrap it to inject failures.
type keyringAPI interface {
	Set(service, user, password string) error
	Get(service, user string) (string, error)
	Delete(service, user string) error
}

// systemKeyring calls go-keyring's package functions (the OS keychain, or its mock after MockInit).
type systemKeyring struct{}

func (systemKeyring) Set(s, u, p string) error        { return keyring.Set(s, u, p) }
func (systemKeyring) Get(s, u string) (string, error) { return keyring.Get(s, u) }
func (systemKeyring) Delete(s, u string) error        { return keyring.Delete(s, u) }

// header is the entry stored under the id itself: either the value inline (N == 0) or the number of
// chunk entries <id>#0 .. <id>#N-1 that hold it.
type header struct {
	V    int    `json:"v"`
	N    int    `json:"n,omitempty"`
	Data string `json:"d,omitempty"`
}

// KeychainStore keeps entries in the OS keychain under one service name.
type KeychainStore struct {
	service string
	ring    keyringAPI
	mu      sync.Mutex // serialises every operation: entries span several keychain items
}

var _ Store = (*KeychainStore)(nil)

func newKeychainStore(service string, ring keyringAPI) *KeychainStore {
	if service == "" {
		service = DefaultService
	}
	return &KeychainStore{service: service, ring: ring}
}

// mapErr turns go-keyring errors into ErrNotFound or ErrUnavailable.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, keyring.ErrNotFound) {
		return ErrNotFound
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

func (k *KeychainStore) probe() error {
	const v = "probe"
	if err := k.ring.Set(k.service, probeID, v); err != nil {
		return mapErr("probe write", err)
	}
	got, err := k.ring.Get(k.service, probeID)
	if err != nil {
		return mapErr("probe read", err)
	}
	if got != v {
		return fmt.Errorf("%w: probe read back a different value", ErrUnavailable)
	}
	if err := k.ring.Delete(k.service, probeID); err != nil {
		return mapErr("probe delete", err)
	}
	return nil
}

func chunkName(id string, i int) string { return id + "#" + strconv.Itoa(i) }

// readRaw returns the stored value of id and the number of chunk entries it uses.
func (k *KeychainStore) readRaw(id string) ([]byte, int, error) {
	h, err := k.ring.Get(k.service, id)
	if err != nil {
		return nil, 0, mapErr("reading "+id, err)
	}
	var hd header
	if err := json.Unmarshal([]byte(h), &hd); err != nil || hd.V != 1 || hd.N < 0 {
		return nil, 0, fmt.Errorf("keychain entry %q has an unknown format", id)
	}
	enc := hd.Data
	if hd.N > 0 {
		buf := make([]byte, 0, hd.N*chunkLimit)
		for i := range hd.N {
			c, err := k.ring.Get(k.service, chunkName(id, i))
			if errors.Is(err, keyring.ErrNotFound) {
				return nil, 0, fmt.Errorf("keychain entry %q is incomplete (chunk %d missing)", id, i)
			}
			if err != nil {
				return nil, 0, mapErr("reading "+id, err)
			}
			buf = append(buf, c...)
		}
		enc = string(buf)
	}
	v, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, 0, fmt.Errorf("keychain entry %q is damaged: %w", id, err)
	}
	return v, hd.N, nil
}

// writeRaw stores value under id. On failure it deletes whatever it wrote; the caller restores the
// previous value if there was one. oldChunks is the chunk count of the value being replaced, whose
// surplus chunks are removed after a successful write.
func (k *KeychainStore) writeRaw(id string, value []byte, oldChunks int) (int, error) {
	enc := base64.StdEncoding.EncodeToString(value)
	var hd header
	hd.V = 1
	var chunks []string
	if len(enc) <= chunkLimit-32 {
		hd.Data = enc
	} else {
		for len(enc) > 0 {
			n := min(chunkLimit, len(enc))
			chunks = append(chunks, enc[:n])
			enc = enc[n:]
		}
		hd.N = len(chunks)
	}
	hb, err := json.Marshal(hd)
	if err != nil {
		return 0, fmt.Errorf("encoding keychain header: %w", err)
	}
	written := 0
	undo := func() {
		for i := range written {
			if i >= oldChunks { // chunks below oldChunks are restored by the caller
				_ = k.ring.Delete(k.service, chunkName(id, i))
			}
		}
	}
	for i, c := range chunks {
		if err := k.ring.Set(k.service, chunkName(id, i), c); err != nil {
			undo()
			return 0, mapErr("writing "+id, err)
		}
		written = i + 1
	}
	if err := k.ring.Set(k.service, id, string(hb)); err != nil {
		undo()
		return 0, mapErr("writing "+id, err)
	}
	for i := len(chunks); i < oldChunks; i++ {
		_ = k.ring.Delete(k.service, chunkName(id, i))
	}
	return len(chunks), nil
}

// deleteRaw removes id's header, then its chunks: once the header is gone the entry no longer
// exists, so a failure part-way leaves at worst unreachable chunks, never a readable partial value.
func (k *KeychainStore) deleteRaw(id string, chunks int) error {
	if err := k.ring.Delete(k.service, id); err != nil {
		return mapErr("deleting "+id, err)
	}
	for i := range chunks {
		if err := k.ring.Delete(k.service, chunkName(id, i)); err != nil && !errors.Is(err, keyring.ErrNotFound) {
			return mapErr("deleting "+id, err)
		}
	}
	return nil
}

func (k *KeychainStore) readIndex() ([]string, int, error) {
	raw, n, err := k.readRaw(indexID)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var ids []string
	if err := json.Unmarshal(raw, &ids); err != nil {
		return nil, 0, fmt.Errorf("keychain index is damaged: %w", err)
	}
	return ids, n, nil
}

func (k *KeychainStore) writeIndex(ids []string, oldChunks int) error {
	sort.Strings(ids)
	b, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("encoding keychain index: %w", err)
	}
	_, err = k.writeRaw(indexID, b, oldChunks)
	return err
}

// Get returns the value stored under id.
func (k *KeychainStore) Get(id string) ([]byte, error) {
	if err := validateID(id); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	v, _, err := k.readRaw(id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("keychain entry %q: %w", id, ErrNotFound)
	}
	return v, err
}

// Put stores value under id, splitting it into chunks when needed. If any step fails, the previous
// value (or absence) of id is restored and the index is unchanged.
func (k *KeychainStore) Put(id string, value []byte) error {
	if err := validateID(id); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ids, idxChunks, err := k.readIndex()
	if err != nil {
		return err
	}
	old, oldChunks, err := k.readRaw(id)
	existed := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	newChunks, err := k.writeRaw(id, value, oldChunks)
	if err != nil {
		k.restore(id, existed, old, oldChunks)
		return err
	}
	if !contains(ids, id) {
		if err := k.writeIndex(append(ids, id), idxChunks); err != nil {
			k.restore(id, existed, old, newChunks)
			return err
		}
	}
	return nil
}

// restore puts id back the way it was before a failed Put (best effort: the keychain just failed).
// curChunks is the number of chunk entries id may currently occupy.
func (k *KeychainStore) restore(id string, existed bool, old []byte, curChunks int) {
	if existed {
		_, _ = k.writeRaw(id, old, curChunks)
		return
	}
	_ = k.ring.Delete(k.service, id)
	for i := 0; ; i++ {
		if err := k.ring.Delete(k.service, chunkName(id, i)); err != nil {
			return
		}
	}
}

// Delete removes id and its chunks and drops it from the index.
func (k *KeychainStore) Delete(id string) error {
	if err := validateID(id); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ids, idxChunks, err := k.readIndex()
	if err != nil {
		return err
	}
	_, chunks, err := k.readRaw(id)
	if errors.Is(err, ErrNotFound) {
		if contains(ids, id) { // heal an index that lists a missing entry
			_ = k.writeIndex(remove(ids, id), idxChunks)
		}
		return fmt.Errorf("keychain entry %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return err
	}
	if err := k.deleteRaw(id, chunks); err != nil {
		return err
	}
	if contains(ids, id) {
		if err := k.writeIndex(remove(ids, id), idxChunks); err != nil {
			return err
		}
	}
	return nil
}

// List returns the ids recorded in the index.
func (k *KeychainStore) List() ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ids, _, err := k.readIndex()
	if err != nil {
		return nil, err
	}
	sort.Strings(ids)
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}

func contains(ids []string, id string) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

func remove(ids []string, id string) []string {
	out := ids[:0:0]
	for _, v := range ids {
		if v != id {
			out = append(out, v)
		}
	}
	return out
}
