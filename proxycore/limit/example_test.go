package limit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/limit"
)

func ExampleLimiter_Acquire() {
	clk := clock.NewFake(time.Date(2026, 1, 1, 12, 0, 45, 0, time.UTC))
	l := limit.New(limit.Options{RPMPerKey: 2, Clock: clk}, limit.NewMemory())
	for i := 0; i < 3; i++ {
		ticket, rej := l.Acquire(context.Background(), "key-id-1", limit.KeyLimits{})
		if rej != nil {
			fmt.Println(rej.Reason, rej.RetryAfter, limit.RetryAfterSeconds(rej.RetryAfter))
			continue
		}
		fmt.Println("admitted")
		ticket.Release(120) // tokens used, for TPM
	}
	// Output:
	// admitted
	// admitted
	// rpm 15s 15
}
