package config

// Default returns the configuration used when no file exists; it equals parsing
// testdata/config.example.toml (the reference file), plus the cache max-bytes-mb default of 64.
func Default() *Config {
	return &Config{
		Host:           "127.0.0.1",
		Port:           8317,
		StrictConfig:   false,
		APIKeys:        []string{},
		RequireAPIKey:  true,
		AllowRemote:    false,
		AllowedOrigins: []string{},
		ProxyURL:       "",
		Keystore: Keystore{
			Backend: "auto",
		},
		Database: Database{
			SpendFlushIntervalMS: 500,
		},
		Metrics: Metrics{
			Enable: true,
			Path:   "/metrics",
		},
		Cache: Cache{
			Enable:     false,
			MaxEntries: 1000,
			MaxBytesMB: 64,
			TTLSeconds: 300,
		},
		RateLimits: RateLimits{
			Backend: "memory",
		},
		Limits: Limits{
			MaxRequestSizeMB:  20,
			MaxResponseSizeMB: 50,
		},
		Masking: Masking{Enable: true},
		RequestLog: RequestLog{
			Enable:        false,
			MaxBodyKB:     64,
			RetentionDays: 7,
		},
		Routing: Routing{
			Strategy:      "fill-first",
			HealthAware:   true,
			PreferHealthy: true,
		},
		HealthTracking: HealthTracking{
			Enable:            true,
			WindowSeconds:     60,
			FailureThreshold:  0.5,
			DegradedThreshold: 0.1,
			MinRequests:       5,
			CleanupInterval:   300,
		},
		Health: Health{
			BackgroundProbes:     false,
			ProbeIntervalSeconds: 300,
		},
		RetryPolicy: RetryPolicy{
			MaxRetries:       2,
			InitialBackoffMS: 500,
			MaxBackoffMS:     8000,
			Multiplier:       2.0,
			Jitter:           0.2,
			RetryOn:          []int{408, 429, 500, 502, 503, 504},
		},
		Streaming: Streaming{
			KeepaliveSeconds: 15,
			BootstrapRetries: 2,
		},
	}
}
