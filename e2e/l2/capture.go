package l2

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/heraldlb/herald/e2e/lab"
)

// Answer is one packet a capture saw that claims an IP for a MAC: an ARP
// reply, a gratuitous ARP, or an IPv6 Neighbor Advertisement.
type Answer struct {
	At time.Time
	// IP is the address claimed: the ARP sender IP, the NA target.
	IP netip.Addr
	// MAC is the claiming hardware address (ARP sender, NA Ethernet source).
	MAC string
	// Kind is "arp-reply", "garp" or "na".
	Kind string
}

// pcap link type of Ethernet, and the magic numbers of the two timestamp
// resolutions.
const (
	linkEthernet = 1
	magicMicro   = 0xa1b2c3d4
	magicNano    = 0xa1b23c4d
)

// ParsePcap reads a classic pcap file of Ethernet frames (tcpdump -w) and
// returns the answers in it, in capture order. Other packets are skipped.
func ParsePcap(r io.Reader) ([]Answer, error) {
	var hdr [24]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("pcap: reading the file header: %w", err)
	}
	var order binary.ByteOrder
	var nano bool
	for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		switch o.Uint32(hdr[:4]) {
		case magicMicro:
			order = o
		case magicNano:
			order, nano = o, true
		}
		if order != nil {
			break
		}
	}
	if order == nil {
		return nil, fmt.Errorf("pcap: magic %x is not a classic pcap file's: write it with tcpdump -w", hdr[:4])
	}
	if lt := order.Uint32(hdr[20:24]); lt&0xffff != linkEthernet {
		return nil, fmt.Errorf("pcap: link type %d: capture on an Ethernet interface", lt)
	}
	var out []Answer
	var rec [16]byte
	for {
		if _, err := io.ReadFull(r, rec[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				// tcpdump killed mid-write leaves a partial record.
				return out, nil
			}
			return nil, fmt.Errorf("pcap: reading a record header: %w", err)
		}
		sec, frac := int64(order.Uint32(rec[0:4])), int64(order.Uint32(rec[4:8]))
		if !nano {
			frac *= 1000
		}
		n := order.Uint32(rec[8:12])
		if n > 1<<18 {
			return nil, fmt.Errorf("pcap: record of %d bytes: the file is corrupt", n)
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(r, frame); err != nil {
			return out, nil
		}
		if a, ok := parseFrame(frame); ok {
			a.At = time.Unix(sec, frac)
			out = append(out, a)
		}
	}
}

// parseFrame returns the answer an Ethernet frame holds, if any.
func parseFrame(f []byte) (Answer, bool) {
	if len(f) < 14 {
		return Answer{}, false
	}
	src := net.HardwareAddr(f[6:12]).String()
	typ, p := binary.BigEndian.Uint16(f[12:14]), f[14:]
	switch typ {
	case 0x0806: // ARP: htype 2, ptype 2, hlen 1, plen 1, op 2, sha 6, spa 4, tha 6, tpa 4
		if len(p) < 28 || binary.BigEndian.Uint16(p[0:2]) != 1 || binary.BigEndian.Uint16(p[2:4]) != 0x0800 || p[4] != 6 || p[5] != 4 {
			return Answer{}, false
		}
		op := binary.BigEndian.Uint16(p[6:8])
		sha := net.HardwareAddr(p[8:14]).String()
		spa := netip.AddrFrom4([4]byte(p[14:18]))
		tpa := netip.AddrFrom4([4]byte(p[24:28]))
		switch {
		case op == 2 && spa == tpa:
			return Answer{IP: spa, MAC: sha, Kind: "garp"}, true
		case op == 2:
			return Answer{IP: spa, MAC: sha, Kind: "arp-reply"}, true
		case op == 1 && spa == tpa:
			return Answer{IP: spa, MAC: sha, Kind: "garp"}, true
		}
	case 0x86dd: // IPv6 header (40 bytes), then ICMPv6 NA: type 136, code, sum, flags 4, target 16
		if len(p) < 40+24 || p[6] != 58 || p[40] != 136 {
			return Answer{}, false
		}
		return Answer{IP: netip.AddrFrom16([16]byte(p[48:64])), MAC: src, Kind: "na"}, true
	}
	return Answer{}, false
}

// Run is a stretch of consecutive answers for one IP from one MAC.
type Run struct {
	MAC         string
	First, Last time.Time
	Count       int
}

// Runs returns, for ip, the answers grouped into runs of the same MAC, in
// order: one run per owner in turn. Two nodes answering at once show as
// runs alternating between their MACs.
func Runs(answers []Answer, ip netip.Addr) []Run {
	var runs []Run
	for _, a := range answers {
		if a.IP != ip {
			continue
		}
		if n := len(runs); n > 0 && runs[n-1].MAC == a.MAC {
			runs[n-1].Last = a.At
			runs[n-1].Count++
			continue
		}
		runs = append(runs, Run{MAC: a.MAC, First: a.At, Last: a.At, Count: 1})
	}
	return runs
}

// MACs returns the distinct MACs answering for ip, sorted.
func MACs(answers []Answer, ip netip.Addr) []string {
	var m []string
	for _, a := range answers {
		if a.IP == ip && !slices.Contains(m, a.MAC) {
			m = append(m, a.MAC)
		}
	}
	slices.Sort(m)
	return m
}

// Capture is a running tcpdump writing ARP and ICMPv6 frames to a file.
type Capture struct {
	cmd    *exec.Cmd
	path   string
	stderr *bytes.Buffer
	done   chan error
}

// StartCapture starts tcpdump on interface iface of lab namespace name
// (lab.ClientName and "lan") writing to path, and returns once it listens.
func StartCapture(ctx context.Context, l *lab.Lab, name, iface, path string) (*Capture, error) {
	cmd, err := l.ExecCommand(context.WithoutCancel(ctx), name, "tcpdump", "-i", iface, "-n", "-U", "-B", "8192",
		"-Z", "root", "-w", path, "arp or icmp6")
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("capture in %s: starting tcpdump: %w", name, err)
	}
	pw.Close()
	c := &Capture{cmd: cmd, path: path, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		said := false
		for sc.Scan() {
			c.stderr.WriteString(sc.Text() + "\n")
			if !said && strings.Contains(sc.Text(), "listening on") {
				said = true
				close(listening)
			}
		}
		pr.Close()
		c.done <- cmd.Wait()
	}()
	select {
	case <-listening:
		return c, nil
	case err := <-c.done:
		return nil, fmt.Errorf("capture in %s: tcpdump ended (%v): %s", name, err, c.stderr.String())
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("capture in %s: tcpdump did not start listening within 20s", name)
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return nil, ctx.Err()
	}
}

// Stop ends tcpdump and returns the answers it captured. It may be called
// once.
func (c *Capture) Stop() ([]Answer, error) {
	// Let the frames of the last moments reach the file.
	time.Sleep(200 * time.Millisecond)
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	f, err := os.Open(c.path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	defer f.Close()
	return ParsePcap(bufio.NewReader(f))
}
