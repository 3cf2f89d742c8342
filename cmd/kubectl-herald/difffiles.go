package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/heraldlb/herald/kubectlplugin"
)

// diffFiles runs kubectl herald diff -f: it returns errChanged when
// something would change, nil when nothing would, another error otherwise.
func diffFiles(ctx context.Context, cc clientcmd.ClientConfig, args, files, deletes []string, output, heraldNS, lbClass string, timeout time.Duration, stdin io.Reader, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("diff -f takes no NODE argument (got %q): it prints every node that would change", args)
	}
	if output != "" && output != "json" {
		return fmt.Errorf("-o %s: want json, or no -o for text", output)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	if ns == "" {
		ns = "default"
	}
	var edits []kubectlplugin.Edit
	if len(files) > 0 {
		if edits, err = kubectlplugin.ReadEditFiles(files, stdin, heraldNS, ns); err != nil {
			return err
		}
	}
	for _, d := range deletes {
		e, err := kubectlplugin.ParseDelete(d, heraldNS, ns)
		if err != nil {
			return err
		}
		edits = append(edits, e)
	}
	c, err := newClient(cc, timeout)
	if err != nil {
		return err
	}
	changed, err := kubectlplugin.DiffEdits(ctx, c, kubectlplugin.LoadOptions{Namespace: heraldNS, LBClass: lbClass}, edits, output == "json", stdout)
	if err != nil {
		return err
	}
	if changed {
		return errChanged
	}
	return nil
}
