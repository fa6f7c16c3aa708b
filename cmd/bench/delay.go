//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The delaying forwarder stands in for netem, which this kernel lacks. In
// the router namespace, policy routing sends every packet that comes from
// the sender into one TUN device and every packet from the receiver into
// another; the forwarder reads each packet from one, holds it for the
// one-way delay and writes it to the other, whence the kernel routes it on
// to its destination. Both directions are delayed, so that the round trip
// is twice the delay, and TCP and QUIC see it as on a real WAN: their
// congestion control runs end to end, not against a proxy.
//
// The devices have virtio-net headers and offloads on, so that a TCP or UDP
// GSO packet of up to 64 KiB crosses as one read and one write rather than
// forty-odd; the forwarder never looks into a packet, and writes the header
// back as it read it.

// TUN ioctls and flags, from <linux/if_tun.h>.
const (
	tunSetIff     = 0x400454ca
	tunSetOffload = 0x400454d0
	iffTUN        = 0x0001
	iffNoPI       = 0x1000
	iffVnetHdr    = 0x4000
	tunFCsum      = 0x01
	tunFTSO4      = 0x02
	tunFTSO6      = 0x04
	tunFTSOECN    = 0x08
	tunFUSO4      = 0x20
	tunFUSO6      = 0x40
)

// delayQueueBytes bounds what each direction holds, as a router's buffer
// does: a packet that would pass it is dropped.
const delayQueueBytes = 32 << 20

// runDelay is the delay role: it forwards packets between the TUN devices
// named by -a and -b, each way after -delay, until interrupted. It prints
// "ready" once attached to both.
func runDelay(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("delay", flag.ContinueOnError)
	a := fs.String("a", "", "")
	b := fs.String("b", "", "")
	delay := fs.Duration("delay", 0, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fa, err := openTun(*a)
	if err != nil {
		return fmt.Errorf("TUN %s: %w", *a, err)
	}
	defer syscall.Close(fa)
	fb, err := openTun(*b)
	if err != nil {
		return fmt.Errorf("TUN %s: %w", *b, err)
	}
	defer syscall.Close(fb)
	var toReceiver, toSender forwardStats
	errc := make(chan error, 2)
	go func() { errc <- forward(fa, fb, *delay, &toReceiver) }()
	go func() { errc <- forward(fb, fa, *delay, &toSender) }()
	fmt.Fprintln(stdout, "ready")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// What it forwarded, for the run's record.
	return json.NewEncoder(stdout).Encode(map[string]any{
		"to_receiver": toReceiver.snapshot(), "to_sender": toSender.snapshot(),
	})
}

// forwardStats counts what one direction forwarded.
type forwardStats struct {
	packets, bytes, dropped atomic.Int64
}

func (s *forwardStats) snapshot() map[string]int64 {
	return map[string]int64{"packets": s.packets.Load(), "bytes": s.bytes.Load(), "dropped": s.dropped.Load()}
}

// openTun attaches to the TUN device name, which "ip tuntap add ... mode
// tun vnet_hdr" made, and turns on the offloads.
func openTun(name string) (int, error) {
	fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var req [40]byte // struct ifreq: the name, then the flags
	copy(req[:syscall.IFNAMSIZ-1], name)
	binary.NativeEndian.PutUint16(req[syscall.IFNAMSIZ:], iffTUN|iffNoPI|iffVnetHdr)
	if err := ioctl(fd, tunSetIff, uintptr(unsafe.Pointer(&req[0]))); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("TUNSETIFF: %w", err)
	}
	offloads := uintptr(tunFCsum | tunFTSO4 | tunFTSO6 | tunFTSOECN)
	// UDP segmentation offload (QUIC's GSO) is Linux 6.2 and later.
	if ioctl(fd, tunSetOffload, offloads|tunFUSO4|tunFUSO6) != nil {
		if err := ioctl(fd, tunSetOffload, offloads); err != nil {
			syscall.Close(fd)
			return -1, fmt.Errorf("TUNSETOFFLOAD: %w", err)
		}
	}
	return fd, nil
}

func ioctl(fd int, req, arg uintptr) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, arg); errno != 0 {
		return errno
	}
	return nil
}

// packet is one packet held for its time.
type packet struct {
	due time.Time
	b   []byte
}

// forward reads packets from src and writes each to dst delay later, in
// the order read.
func forward(src, dst int, delay time.Duration, stats *forwardStats) error {
	q := make(chan packet, 1<<16)
	var queued atomic.Int64
	go func() {
		for p := range q {
			if w := time.Until(p.due); w > 0 {
				time.Sleep(w)
			}
			// A packet the kernel refuses is lost, as on any link.
			if _, err := syscall.Write(dst, p.b); err == nil {
				stats.packets.Add(1)
				stats.bytes.Add(int64(len(p.b)))
			} else {
				stats.dropped.Add(1)
			}
			queued.Add(-int64(len(p.b)))
		}
	}()
	defer close(q)
	buf := make([]byte, 256<<10)
	for {
		n, err := syscall.Read(src, buf)
		if errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.EAGAIN) {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.EOF // a TUN device never ends; a pipe in a test does
		}
		if queued.Load()+int64(n) > delayQueueBytes {
			stats.dropped.Add(1) // the buffer is full: drop, as a router would
			continue
		}
		queued.Add(int64(n))
		q <- packet{due: time.Now().Add(delay), b: append([]byte(nil), buf[:n]...)}
	}
}
