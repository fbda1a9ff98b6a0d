package bench

import (
	"testing"
	"time"
)

// OpenAIDelayed is [OpenAI] against a server that holds every response back
// for delay.
func OpenAIDelayed(b *testing.B, client OpenAIClient, delay time.Duration) {
	openAI(b, client, delay)
}
