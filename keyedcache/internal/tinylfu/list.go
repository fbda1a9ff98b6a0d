package tinylfu

// A List is a circular doubly linked list of nodes around a sentinel: the
// policy's queues, and an owner's own order of its nodes when it uses no
// policy (a Node is in one List at a time). The sentinel's next is the least
// recently used node (the front, first to go) and its prev the most
// recently used one (the back). A List must be initialised with Init and not
// copied afterwards.
type List struct {
	root Node
	len  int
}

// Init makes l empty.
func (l *List) Init() {
	l.root.next = &l.root
	l.root.prev = &l.root
	l.len = 0
}

// Len returns the number of nodes in l.
func (l *List) Len() int { return l.len }

// Front returns the least recently used node, or nil if l is empty.
func (l *List) Front() *Node {
	if l.len == 0 {
		return nil
	}
	return l.root.next
}

// Next returns the node after n, which must be in l, or nil if n is the
// back.
func (l *List) Next(n *Node) *Node {
	if n.next == &l.root {
		return nil
	}
	return n.next
}

// PushBack links n as the most recently used node.
func (l *List) PushBack(n *Node) {
	last := l.root.prev
	n.prev = last
	n.next = &l.root
	last.next = n
	l.root.prev = n
	l.len++
}

// Remove unlinks n, which must be in l.
func (l *List) Remove(n *Node) {
	n.prev.next = n.next
	n.next.prev = n.prev
	n.prev = nil
	n.next = nil
	l.len--
}

// MoveToBack makes n, which must be in l, the most recently used node.
func (l *List) MoveToBack(n *Node) {
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
func (l *List) ascend(yield func(*Node) bool) bool {
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
func (l *List) clear() {
	for n := l.root.next; n != &l.root; {
		next := n.next
		n.prev, n.next, n.queue = nil, nil, inNone
		n = next
	}
	l.Init()
}
