package admission

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Path is where the webhook answers admission reviews.
const Path = "/validate"

// Options configure the webhook server.
type Options struct {
	// Addr is the HTTPS listen address, e.g. ":9443".
	Addr string
	// Namespace is herald's namespace: the Secret lives there.
	Namespace string
	// LBClass is the loadBalancerClass the controller serves.
	LBClass string
	// SecretName is the Secret holding the CA and serving certificate
	// (created when missing).
	SecretName string
	// ConfigName is the ValidatingWebhookConfiguration whose webhooks'
	// caBundle herald keeps; it may not exist (then nothing is patched).
	ConfigName string
	// Hosts are the names (or IP addresses) the serving certificate is
	// for: the webhook Service's DNS names.
	Hosts []string
	// CheckInterval is how often the certificates and the caBundle are
	// looked at (default 1m: renewal is due weeks ahead, but a re-applied
	// configuration loses its caBundle and the webhook fails open until it
	// is patched again).
	CheckInterval time.Duration
	// Log is the server's logger.
	Log logr.Logger
}

// Server serves the webhook over HTTPS with herald's own certificates, in
// every controller replica (it does not need the leadership).
type Server struct {
	opts Options
	// c writes the Secret and patches the configuration; reader reads
	// them (the API server, uncached).
	c       client.Client
	reader  client.Reader
	handler *Handler
	cert    atomic.Pointer[tls.Certificate]
	// ready is closed once a certificate is loaded.
	ready chan struct{}
}

// NewServer returns the webhook server. c writes, apiReader reads the
// Secret and the configuration uncached, cache reads what the impact is
// computed from.
func NewServer(c client.Client, apiReader, cache client.Reader, opts Options) (*Server, error) {
	switch {
	case opts.Addr == "":
		return nil, errors.New("webhook: no listen address")
	case opts.SecretName == "":
		return nil, errors.New("webhook: no certificate Secret name (--webhook-secret)")
	case len(opts.Hosts) == 0:
		return nil, errors.New("webhook: no host name for its certificate")
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = time.Minute
	}
	return &Server{opts: opts, c: c, reader: apiReader, ready: make(chan struct{}),
		handler: &Handler{Reader: cache, SecretReader: apiReader, Namespace: opts.Namespace, LBClass: opts.LBClass}}, nil
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: every
// replica serves.
func (s *Server) NeedLeaderElection() bool { return false }

// Start implements manager.Runnable: it makes or renews the certificates,
// patches the caBundle, serves until ctx ends, and looks at the
// certificates again every CheckInterval.
func (s *Server) Start(ctx context.Context) error {
	log := s.opts.Log
	// The first certificate: retried until it exists (another replica may
	// be creating it at the same time).
	retry := time.NewTicker(2 * time.Second)
	for {
		err := s.check(ctx)
		if err == nil {
			break
		}
		log.Error(err, "making the webhook's certificates; retrying")
		select {
		case <-ctx.Done():
			retry.Stop()
			return nil
		case <-retry.C:
		}
	}
	retry.Stop()

	mux := http.NewServeMux()
	mux.Handle(Path, &admission.Webhook{Handler: s.handler})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.cert.Load(), nil }},
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("webhook: listening on %s: %w", s.opts.Addr, err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	log.Info("serving the admission webhook", "addr", ln.Addr().String(), "secret", s.opts.SecretName, "config", s.opts.ConfigName)

	tick := time.NewTicker(s.opts.CheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			<-done
			return nil
		case err := <-done:
			return fmt.Errorf("webhook: serving: %w", err)
		case <-tick.C:
			if err := s.check(ctx); err != nil {
				log.Error(err, "renewing the webhook's certificates")
			}
		}
	}
}

// check renews the Secret's certificates when due, loads the serving
// certificate, and makes the configuration trust the CA.
func (s *Server) check(ctx context.Context) error {
	b, err := s.ensureSecret(ctx)
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(b.Cert, b.Key)
	if err != nil {
		return fmt.Errorf("loading the serving certificate of Secret %s/%s: %w", s.opts.Namespace, s.opts.SecretName, err)
	}
	s.cert.Store(&pair)
	return s.patchCABundle(ctx, b.CABundle())
}

// ensureSecret returns the certificates of the Secret, made or renewed
// first when needed. An update that loses a race with another replica
// reads the winner's.
func (s *Server) ensureSecret(ctx context.Context) (Bundle, error) {
	key := types.NamespacedName{Namespace: s.opts.Namespace, Name: s.opts.SecretName}
	var sec corev1.Secret
	err := s.reader.Get(ctx, key, &sec)
	switch {
	case apierrors.IsNotFound(err):
		b, _, err := Bundle{}.Renew(time.Now(), s.opts.Hosts)
		if err != nil {
			return Bundle{}, err
		}
		sec = corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
			Labels: map[string]string{"app.kubernetes.io/name": "herald", "app.kubernetes.io/component": "webhook"}},
			Type: corev1.SecretTypeOpaque, Data: b.SecretData()}
		if err := s.c.Create(ctx, &sec); err != nil {
			return Bundle{}, fmt.Errorf("creating Secret %s: %w", key, err)
		}
		s.opts.Log.Info("made the webhook's CA and serving certificate", "secret", key.String())
		return b, nil
	case err != nil:
		return Bundle{}, fmt.Errorf("reading Secret %s: %w", key, err)
	}
	b, changed, err := FromSecretData(sec.Data).Renew(time.Now(), s.opts.Hosts)
	if err != nil {
		return Bundle{}, err
	}
	if !changed {
		return b, nil
	}
	sec.Data = b.SecretData()
	if err := s.c.Update(ctx, &sec); err != nil {
		return Bundle{}, fmt.Errorf("renewing the certificates in Secret %s: %w", key, err)
	}
	s.opts.Log.Info("renewed the webhook's certificates", "secret", key.String())
	return b, nil
}

// patchCABundle sets caBundle on every webhook of the configuration that
// lacks it. A missing configuration is not an error: the webhook is then
// simply not called.
func (s *Server) patchCABundle(ctx context.Context, bundle []byte) error {
	if s.opts.ConfigName == "" {
		return nil
	}
	var cfg admissionregistrationv1.ValidatingWebhookConfiguration
	if err := s.reader.Get(ctx, types.NamespacedName{Name: s.opts.ConfigName}, &cfg); err != nil {
		if apierrors.IsNotFound(err) {
			s.opts.Log.V(1).Info("no ValidatingWebhookConfiguration to patch", "name", s.opts.ConfigName)
			return nil
		}
		return fmt.Errorf("reading ValidatingWebhookConfiguration %s: %w", s.opts.ConfigName, err)
	}
	orig := cfg.DeepCopy()
	changed := false
	for i := range cfg.Webhooks {
		if !bytes.Equal(cfg.Webhooks[i].ClientConfig.CABundle, bundle) {
			cfg.Webhooks[i].ClientConfig.CABundle = bundle
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := s.c.Patch(ctx, &cfg, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("patching the caBundle of ValidatingWebhookConfiguration %s: %w", s.opts.ConfigName, err)
	}
	s.opts.Log.Info("patched the webhook configuration's caBundle", "name", s.opts.ConfigName)
	return nil
}
