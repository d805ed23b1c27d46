//go:build unix

package h1

import (
	"net"
	"syscall"
)

// alive reports whether a pooled connection still looks usable: the peer has not closed it and sent nothing
// unasked. One non-blocking MSG_PEEK; a connection that cannot be inspected is assumed alive (a failure is
// then caught by the resend on a stale connection).
func alive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	ok = true
	var buf [1]byte
	_ = raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR {
			return true // nothing to read: the normal state of an idle connection
		}
		ok = false // an error, an orderly close (n == 0) or bytes nobody asked for
		return true
	})
	return ok
}
