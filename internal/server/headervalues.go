package server

import "sync/atomic"

// valueCache holds header values computed from an integer, such as an Age
// in seconds, so that the requests of one second share one value instead
// of formatting and allocating their own. It is direct-mapped and lock-free:
// two keys in one slot take turns, which costs a format and an allocation,
// as having no cache would. The values are shared, so nobody may change
// them: a Header.Add appends past their length-1 capacity, into a copy.
type valueCache struct {
	slots [valueCacheSlots]atomic.Pointer[cachedValue]
}

// valueCacheSlots covers every Age and ttl of pages with intervals up to
// about a quarter of an hour without a collision.
const valueCacheSlots = 1024

// cachedValue is one slot's content, never changed once stored.
type cachedValue struct {
	key   int64
	value []string
}

// get returns the value for key, formatting and keeping it on a miss.
func (c *valueCache) get(key int64, format func(int64) string) []string {
	slot := &c.slots[uint64(key)%valueCacheSlots]
	if v := slot.Load(); v != nil && v.key == key {
		return v.value
	}
	v := &cachedValue{key: key, value: []string{format(key)}}
	slot.Store(v)
	return v.value
}

var (
	// ageValues holds Age values by seconds.
	ageValues valueCache
	// statusValues holds timed Cache-Status values by formatStatus's key.
	statusValues valueCache
)
