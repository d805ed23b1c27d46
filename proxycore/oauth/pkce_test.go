package oauth

import (
	"strings"
	"testing"
)

func TestPKCE(t *testing.T) {
	// RFC 7636 Appendix B test vector.
	if got := s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatalf("s256 = %s", got)
	}
	v1, c1 := newPKCE()
	v2, _ := newPKCE()
	if len(v1) < 43 || len(v1) > 128 || strings.ContainsAny(v1, "+/=") || v1 == v2 || c1 != s256(v1) {
		t.Fatalf("verifier %q challenge %q", v1, c1)
	}
}
