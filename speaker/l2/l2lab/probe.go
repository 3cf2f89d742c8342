package l2lab

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mdlayher/arp"
)

// ProbeEnv holds "ip interval" in a prober process's environment.
const ProbeEnv = "HERALD_L2LAB_PROBE"

// Reply is an ARP reply the prober saw.
type Reply struct {
	At  time.Time
	MAC string
}

// Prober sends an ARP request for one IP from the client at a fixed
// interval and reports every reply.
type Prober struct {
	cmd *exec.Cmd
	// Replies delivers every reply, in order; closed when the prober ends.
	Replies <-chan Reply
}

// StartProber starts a prober for ip in the client namespace, running exe
// args (which must call MaybeRunProber first).
func (l *Lab) StartProber(ip string, every time.Duration, exe string, args ...string) (*Prober, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.Client.NS, exe}, args...)...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s", ProbeEnv, ip, every))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("l2lab prober: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("l2lab prober: starting: %w", err)
	}
	ch := make(chan Reply, 4096)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 {
				continue
			}
			ns, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				continue
			}
			ch <- Reply{At: time.Unix(0, ns), MAC: f[1]}
		}
	}()
	return &Prober{cmd: cmd, Replies: ch}, nil
}

// Stop ends the prober.
func (p *Prober) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	for range p.Replies {
	}
	p.cmd.Wait()
}

// MaybeRunProber runs a prober and exits if ProbeEnv is set, and returns at
// once otherwise. It prints "unix-nanoseconds MAC" for every reply.
func MaybeRunProber() {
	raw := os.Getenv(ProbeEnv)
	if raw == "" {
		return
	}
	if err := runProber(raw); err != nil {
		fmt.Fprintf(os.Stderr, "l2lab prober: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runProber(raw string) error {
	f := strings.Fields(raw)
	if len(f) != 2 {
		return fmt.Errorf("%s=%q: want \"ip interval\"", ProbeEnv, raw)
	}
	ip, err := netip.ParseAddr(f[0])
	if err != nil {
		return err
	}
	every, err := time.ParseDuration(f[1])
	if err != nil {
		return err
	}
	ifi, err := net.InterfaceByName("eth0")
	if err != nil {
		return err
	}
	c, err := arp.Dial(ifi)
	if err != nil {
		return fmt.Errorf("opening ARP socket: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	context.AfterFunc(ctx, func() { c.Close() })
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if err := c.Request(ip); err != nil && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "l2lab prober: request: %v\n", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	for {
		p, _, err := c.Read()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		// Answers to our requests only, not gratuitous replies.
		if p.Operation == arp.OperationReply && p.SenderIP == ip && bytes.Equal(p.TargetHardwareAddr, ifi.HardwareAddr) {
			fmt.Printf("%d %s\n", time.Now().UnixNano(), p.SenderHardwareAddr)
		}
	}
}
