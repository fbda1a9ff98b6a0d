package keyedcache

import (
	"hash/maphash"
	"unsafe"
)

// Keys are hashed with a seed chosen per cache, so that no one can pick
// keys that collide. maphash.Comparable hashes any comparable key; the
// common kinds of key take a shorter path: strings through maphash.String,
// and integers of 64 bits or fewer through a seeded mixer, which is a few
// instructions.

type hashKind uint8

const (
	hashComparable hashKind = iota
	hashString
	hashWord // int64, uint64, and int, uint, uintptr where they have 8 bytes
	hashHalf // int32, uint32, and int, uint, uintptr where they have 4
)

// hasher is embedded in KeyedCache.
type hasher struct {
	seed   maphash.Seed
	seed64 uint64
	kind   hashKind
}

func newHasher[K comparable]() hasher {
	h := hasher{seed: maphash.MakeSeed()}
	h.seed64 = maphash.Comparable(h.seed, uint64(0x9E3779B97F4A7C15)) | 1
	var zero K
	switch any(zero).(type) {
	case string:
		h.kind = hashString
	case int64, uint64:
		h.kind = hashWord
	case int, uint, uintptr: // 4 or 8 bytes, by platform
		h.kind = hashWord
		if unsafe.Sizeof(zero) == 4 {
			h.kind = hashHalf
		}
	case int32, uint32:
		h.kind = hashHalf
	}
	return h
}

// hashKey returns the hash of key. It panics, as a map would, if key's
// dynamic type is not hashable; every method hashes before it takes a lock.
func hashKey[K comparable](h *hasher, key K) uint64 {
	switch h.kind {
	case hashString:
		return maphash.String(h.seed, *(*string)(unsafe.Pointer(&key)))
	case hashWord:
		return mix(*(*uint64)(unsafe.Pointer(&key)) ^ h.seed64)
	case hashHalf:
		return mix(uint64(*(*uint32)(unsafe.Pointer(&key))) ^ h.seed64)
	}
	return maphash.Comparable(h.seed, key)
}

// mix is the finaliser of SplitMix64: every input bit affects every output
// bit.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}
