package keyedcache

import (
	"testing"

	"github.com/reuse-go/reuse/internal/leaktest"
)

// TestMain fails the package if any goroutine outlives its tests.
func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}
