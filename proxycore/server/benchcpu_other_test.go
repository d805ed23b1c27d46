//go:build !unix

package server

// selfCPU is not measured on this platform; benchmarks then report 0 CPU per request.
func selfCPU() int64 { return 0 }
