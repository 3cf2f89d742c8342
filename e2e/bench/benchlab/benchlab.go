// Package benchlab brings the lab up for an e2e/bench command and gives it
// an API client for Kubernetes' and herald's types: the start-up every
// lab bench shares.
package benchlab

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/e2e/lab"
)

// Options says how a bench wants its lab.
type Options struct {
	// Name names the bench in messages ("drain bench: lab down: ...").
	Name string
	// Keep leaves the lab up when the bench ends (Close, not Down).
	Keep bool
	// Verbose logs the lab's steps to stderr.
	Verbose bool
	// Require lists herald's components that must run in the lab; nil
	// requires none. Every names all of them.
	Require []string
}

// Every is Options.Require for a bench that needs every component.
var Every = []string{lab.Controller, lab.Speaker, lab.FRRAgent}

// Up brings the lab up (within 20 minutes), checks the components the
// bench requires, and returns the lab, a client (with watch) for core and
// herald types, and done, which takes the lab down (or, with Keep, leaves
// it up); call done even when Up returns an error after the lab came up
// (done is then non-nil).
func Up(ctx context.Context, o Options) (*lab.Lab, client.WithWatch, func(), error) {
	opts := lab.Options{}
	if o.Verbose {
		opts.Log = funcr.New(func(_, args string) { fmt.Fprintln(os.Stderr, "lab:", args) }, funcr.Options{})
	}
	upCtx, upCancel := context.WithTimeout(ctx, 20*time.Minute)
	l, err := lab.Up(upCtx, opts)
	upCancel()
	if err != nil {
		return nil, nil, nil, err
	}
	done := func() {
		if o.Keep {
			l.Close()
			return
		}
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer dcancel()
		if err := l.Down(dctx); err != nil {
			fmt.Fprintf(os.Stderr, "%s: lab down: %v\n", o.Name, err)
		}
	}
	for _, c := range l.Components() {
		if !c.Built && slices.Contains(o.Require, c.Name) {
			return l, nil, done, fmt.Errorf("herald %s is not running in the lab: %s", c.Name, c.Missing)
		}
	}
	ctrllog.SetLogger(logr.Discard())
	s := kruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return l, nil, done, err
	}
	if err := v1beta1.AddToScheme(s); err != nil {
		return l, nil, done, err
	}
	c, err := client.NewWithWatch(l.RESTConfig(), client.Options{Scheme: s})
	if err != nil {
		return l, nil, done, err
	}
	return l, c, done, nil
}
