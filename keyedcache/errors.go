package keyedcache

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by [KeyedCache.Get] after [KeyedCache.Close].
var ErrClosed = errors.New("keyedcache: closed")

// ErrLoaderExited is returned to the Gets waiting on a load whose Loader
// called [runtime.Goexit] (as t.FailNow does) instead of returning.
var ErrLoaderExited = errors.New("keyedcache: loader called runtime.Goexit")

var errNilContext = errors.New("keyedcache: Get called with a nil context")

// A PanicError is returned to every Get waiting on a load whose Loader
// panicked. The key is not stored and can be loaded again.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the stack of the panicking goroutine, as [runtime/debug.Stack]
	// formats it.
	Stack []byte
}

// Error describes the panic value; the stack is in [PanicError.Stack].
func (p *PanicError) Error() string {
	return fmt.Sprintf("keyedcache: loader panicked: %v", p.Value)
}

// Unwrap returns the panic value when it is an error, so that [errors.Is] and
// [errors.As] see through a panic(err); otherwise nil.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}
