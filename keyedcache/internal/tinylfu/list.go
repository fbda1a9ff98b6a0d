package tinylfu

// list is a circular doubly linked list of nodes around a sentinel. The
// sentinel's next is the least recently used node (the head, first to go) and
// its prev the most recently used one (the tail).
type list[T any] struct {
	root Node[T]
	len  int
}

// init makes l empty. l must not be copied afterwards.
func (l *list[T]) init() {
	l.root.next = &l.root
	l.root.prev = &l.root
	l.len = 0
}

// front returns the least recently used node, or nil if l is empty.
func (l *list[T]) front() *Node[T] {
	if l.len == 0 {
		return nil
	}
	return l.root.next
}

// pushBack links n as the most recently used node.
func (l *list[T]) pushBack(n *Node[T]) {
	last := l.root.prev
	n.prev = last
	n.next = &l.root
	last.next = n
	l.root.prev = n
	l.len++
}

// remove unlinks n, which must be in l.
func (l *list[T]) remove(n *Node[T]) {
	n.prev.next = n.next
	n.next.prev = n.prev
	n.prev = nil
	n.next = nil
	l.len--
}

// moveToBack makes n, which must be in l, the most recently used node.
func (l *list[T]) moveToBack(n *Node[T]) {
	if l.root.prev == n {
		return
	}
	n.prev.next = n.next
	n.next.prev = n.prev
	last := l.root.prev
	n.prev = last
	n.next = &l.root
	last.next = n
	l.root.prev = n
}

// ascend calls yield for each node from the least to the most recently used
// and reports whether yield returned true every time.
func (l *list[T]) ascend(yield func(*Node[T]) bool) bool {
	for n := l.root.next; n != &l.root; {
		next := n.next
		if !yield(n) {
			return false
		}
		n = next
	}
	return true
}

// clear unlinks every node of l.
func (l *list[T]) clear() {
	for n := l.root.next; n != &l.root; {
		next := n.next
		n.prev, n.next, n.queue = nil, nil, inNone
		n = next
	}
	l.init()
}
