package config

import "testing"

func BenchmarkParseFull(b *testing.B) {
	data, err := readFile("testdata/full.toml", true)
	if err != nil {
		b.Fatal(err)
	}
	env := mapEnv(fullEnv())
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := parse(data, "full.toml", env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	data, _ := readFile("testdata/full.toml", true)
	cfg, err := parse(data, "full.toml", mapEnv(fullEnv()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := cfg.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedacted(b *testing.B) {
	data, _ := readFile("testdata/full.toml", true)
	cfg, err := parse(data, "full.toml", mapEnv(fullEnv()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = cfg.Redacted()
	}
}
