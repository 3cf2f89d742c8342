package bgp

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/e2e/labtest"
	"github.com/heraldlb/herald/internal/frrproc"
	"github.com/heraldlb/herald/internal/testenv"
)

// TestNoPasswordOnDisk runs the lab with password peers (every node to
// GoBGP, TCP-MD5 lab.GoBGPPassword), forces an FRR rejection of a config
// holding the password (a BGPPeer whose address is node1's own, with the
// password), and then hunts the password: in every file of the lab's
// folder, of FRR's folders (/etc/frr, /var/run/frr) and of /tmp written
// since the test began, while the lab runs and again once it is down;
// and in NodeStates, statuses and events. A file may hold it only when it
// is not a log and only its owner can read it (0600 or narrower); once
// the lab is down, none may.
func TestNoPasswordOnDisk(t *testing.T) {
	testenv.RequireRoot(t)
	labtest.RequireOwnLab(t) // it takes the lab down to look at what is left
	began := time.Now()
	l := labtest.Up(t, lab.Options{})
	labtest.RequireComponents(t, l, lab.Controller, lab.Speaker, lab.FRRAgent)
	e := newEnv(t, l)
	e.reset(t) // no reset at the end: the test takes the lab down
	e.base(t)
	ctx := context.Background()
	const password = lab.GoBGPPassword

	labtest.Apply(t, e.c, &corev1.Secret{
		ObjectMeta: objMeta(gobgpSecretName),
		Type:       corev1.SecretTypeBasicAuth,
		StringData: map[string]string{"password": password},
	})
	gobgp := peer("gobgp-md5")
	gobgp.Spec.PeerASN, gobgp.Spec.PeerAddress, gobgp.Spec.BFDProfile = lab.GoBGPASN, lab.GoBGPAddr4.String(), ""
	gobgp.Spec.PasswordSecret = &corev1.SecretReference{Name: gobgpSecretName, Namespace: ns}
	labtest.Apply(t, e.c, gobgp)
	labtest.Eventually(t, wait, "GoBGP should have an Established IPv4 session (TCP-MD5) with every node", func() string {
		g, err := e.lab.GoBGPNeighbors(ctx)
		if err != nil {
			return err.Error()
		}
		for _, a := range e.nodeAddrs(t, e.allNodes()...) {
			if g[a].State.SessionState != 6 {
				return "GoBGP's session with " + a + " is not Established"
			}
		}
		return ""
	})

	// FRR refuses a neighbor at the node's own address: the config it
	// refuses holds the password.
	self := peer("self-md5", "node1")
	self.Spec.PeerASN, self.Spec.PeerAddress, self.Spec.BFDProfile = 64999, e.nodeAddrs(t, "node1")[0], ""
	self.Spec.PasswordSecret = &corev1.SecretReference{Name: gobgpSecretName, Namespace: ns}
	applied := time.Now()
	labtest.Apply(t, e.c, self)
	var reported time.Duration
	labtest.Eventually(t, wait, "node1's NodeState should report the config rejected, with FRR's reason", func() string {
		var st v1beta1.NodeState
		if err := e.c.Get(ctx, client.ObjectKey{Name: "node1"}, &st); err != nil {
			return err.Error()
		}
		f := st.Status.FRR
		if f == nil || f.Result != v1beta1.FRRRejected {
			return "the last apply is not Rejected"
		}
		if !slices.ContainsFunc(f.RejectedLines, func(s string) bool { return strings.Contains(s, "Can not configure the local system as neighbor") }) {
			return "the rejected lines do not give FRR's reason: " + strings.Join(f.RejectedLines, "; ")
		}
		reported = time.Since(applied)
		return ""
	})
	t.Logf("node1's NodeState reported the rejection %v after the BGPPeer was created (the speaker's coalescing and NodeState writes included)", reported.Round(time.Millisecond))
	labtest.Remove(t, e.c, self)

	// The API: NodeStates, BGPPeers and events.
	var states v1beta1.NodeStateList
	var peers v1beta1.BGPPeerList
	var events corev1.EventList
	for _, list := range []client.ObjectList{&states, &peers, &events} {
		if err := e.c.List(ctx, list); err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(js, []byte(password)) {
			t.Errorf("the password appears in the API's %T", list)
		}
	}

	// The lab's logs are root's alone, whatever they hold.
	logs, err := filepath.Glob(filepath.Join(l.Dir(), "logs", "*"))
	if err != nil || len(logs) == 0 {
		t.Errorf("no logs in %s (%v)", filepath.Join(l.Dir(), "logs"), err)
	}
	for _, f := range logs {
		if info, err := os.Stat(f); err == nil && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("the log %s has mode %v, want 0600", f, info.Mode().Perm())
		}
	}

	roots := []string{l.Dir(), filepath.Dir(frrproc.ConfDir("x")), filepath.Dir(frrproc.RunDir("x")), os.TempDir()}
	for _, f := range filesWith(t, roots, password, began) {
		switch {
		case f.log:
			t.Errorf("the password is in the log %s (mode %v)", f.path, f.mode)
		case f.mode&0o077 != 0:
			t.Errorf("the password is in %s, mode %v: wider than 0600", f.path, f.mode)
		default:
			t.Logf("the password is in %s (mode %v): its owner's alone", f.path, f.mode)
		}
	}

	// What the lab leaves once it is down: nothing with the password, and
	// no folder of frr-reload.py's.
	dctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := l.Teardown(dctx); err != nil {
		t.Fatalf("lab down: %v", err)
	}
	for _, f := range filesWith(t, roots, password, began) {
		t.Errorf("the password survives the lab in %s (mode %v)", f.path, f.mode)
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "herald-frr-reload-*")); len(left) > 0 {
		var fresh []string
		for _, d := range left {
			if info, err := os.Stat(d); err == nil && info.ModTime().After(began) {
				fresh = append(fresh, d)
			}
		}
		if len(fresh) > 0 {
			t.Errorf("frr-reload.py folders left in %s: %v", os.TempDir(), fresh)
		}
	}
}

// found is a file holding the secret.
type found struct {
	path string
	mode fs.FileMode
	log  bool
}

// filesWith walks roots and returns the regular files modified since
// since that hold secret. Files under os.TempDir are other processes' too:
// only those modified since since are read there; elsewhere every file is.
func filesWith(t *testing.T, roots []string, secret string, since time.Time) []found {
	t.Helper()
	var out []found
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) || os.IsPermission(err) {
					return nil
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil // removed meanwhile
			}
			if info.Mode().Perm()&0o111 != 0 {
				return nil // a herald binary holds lab.GoBGPPassword as a constant
			}
			if root == os.TempDir() && info.ModTime().Before(since) {
				return nil
			}
			if info.Size() > 256<<20 {
				return nil // etcd's database: what the API holds is checked through the API
			}
			data, err := os.ReadFile(path)
			if err != nil || !bytes.Contains(data, []byte(secret)) {
				return nil
			}
			base := filepath.Base(path)
			out = append(out, found{path: path, mode: info.Mode().Perm(),
				log: strings.Contains(base, ".log") || strings.Contains(path, "/logs/")})
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", root, err)
		}
	}
	return out
}
