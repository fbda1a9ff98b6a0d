package keyedcache

// links are a timed entry's place in expiry order (timing.tl). (The
// loading list and the order of live entries are tinylfu.Lists of the
// entries' Nodes, tn.) Lists are guarded by the cache's mu.
type links[K comparable, V any] struct {
	prev, next *entry[K, V]
}

// A list is a doubly linked list of timed entries through their links tl:
// expiry order. Its zero value is empty.
type list[K comparable, V any] struct {
	head, tail *entry[K, V]
	n          int
}

// at returns e's links.
func (l *list[K, V]) at(e *entry[K, V]) *links[K, V] { return &e.tm().tl }

func (l *list[K, V]) pushBack(e *entry[K, V]) {
	lk := l.at(e)
	lk.prev, lk.next = l.tail, nil
	if l.tail != nil {
		l.at(l.tail).next = e
	} else {
		l.head = e
	}
	l.tail = e
	l.n++
}

func (l *list[K, V]) remove(e *entry[K, V]) {
	lk := l.at(e)
	if lk.prev != nil {
		l.at(lk.prev).next = lk.next
	} else {
		l.head = lk.next
	}
	if lk.next != nil {
		l.at(lk.next).prev = lk.prev
	} else {
		l.tail = lk.prev
	}
	lk.prev, lk.next = nil, nil
	l.n--
}

// reset empties the list without touching its entries' links; the caller
// must not reuse those entries in a list.
func (l *list[K, V]) reset() { l.head, l.tail, l.n = nil, nil, 0 }
