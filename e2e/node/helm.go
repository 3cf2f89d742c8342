package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// helmInstaller installs charts/herald with bin/helm, its images set to the
// locally built ones.
func (e *e2e) helmInstaller() (installer, error) {
	chart := filepath.Join(e.root, "charts", "herald")
	helm := filepath.Join(e.root, "bin", "helm")
	for _, f := range []string{chart, helm} {
		if _, err := os.Stat(f); err != nil {
			return installer{}, fmt.Errorf("helm install needs %s: %w", f, err)
		}
	}
	c := e.cluster
	run := func(ctx context.Context, args ...string) error {
		_, err := runHelm(ctx, helm, c.p.kubeconfig(), args...)
		return err
	}
	repo, tag := splitRef(e.images.Herald)
	frrRepo, frrTag := splitRef(e.images.FRR)
	return installer{
		name: "helm install",
		install: func(ctx context.Context) error {
			return run(ctx, "install", "herald", chart, "--namespace", heraldNS, "--create-namespace",
				"--set", "image.repository="+repo, "--set", "image.tag="+tag,
				"--set", "frr.image.repository="+frrRepo, "--set", "frr.image.tag="+frrTag)
		},
		uninstall: func(ctx context.Context) error {
			if err := run(ctx, "uninstall", "herald", "--namespace", heraldNS, "--wait", "--timeout", "120s"); err != nil {
				return err
			}
			// helm leaves the namespace --create-namespace made.
			_, err := c.kubectl(ctx, "delete", "namespace", heraldNS, "--ignore-not-found", "--wait", "--timeout", "120s")
			return err
		},
		// Helm installs crds/ and never deletes them: they stay, by
		// Helm's design, until the user deletes them, and with them the
		// cluster-scoped NodeStates the speakers wrote (deleting the CRDs
		// deletes those).
		keeps: func(obj string) bool {
			return strings.HasPrefix(obj, "customresourcedefinition.apiextensions.k8s.io/") && strings.HasSuffix(obj, ".heraldlb.io") ||
				strings.HasPrefix(obj, "nodestate.heraldlb.io/")
		},
		after: func(ctx context.Context) error {
			out, err := c.kubectl(ctx, "get", "crd", "-o", "name")
			if err != nil {
				return err
			}
			var crds []string
			for _, o := range strings.Fields(out) {
				if strings.HasSuffix(o, ".heraldlb.io") {
					crds = append(crds, o)
				}
			}
			if len(crds) == 0 {
				return nil
			}
			states, _ := c.kubectl(ctx, "get", "nodestates.heraldlb.io", "-o", "name")
			e.report.note("helm uninstall leaves the chart's %d CRDs (Helm never deletes crds/) and %d NodeStates; deleting the CRDs as a user would",
				len(crds), len(strings.Fields(states)))
			_, err = c.kubectl(ctx, append([]string{"delete", "--wait", "--timeout", "60s"}, crds...)...)
			return err
		},
	}, nil
}

func runHelm(ctx context.Context, helm, kubeconfig string, args ...string) (string, error) {
	if helm == "" {
		return "", errors.New("no helm")
	}
	return run(ctx, append([]string{"env", "KUBECONFIG=" + kubeconfig, "HELM_CACHE_HOME=" + filepath.Dir(kubeconfig) + "/helm/cache",
		"HELM_CONFIG_HOME=" + filepath.Dir(kubeconfig) + "/helm/config", "HELM_DATA_HOME=" + filepath.Dir(kubeconfig) + "/helm/data", helm}, args...)...)
}

// splitRef splits an image reference into repository and tag; a digest
// is dropped (the images the e2e builds carry tags).
func splitRef(ref string) (string, string) {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		return ref[:i], ""
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}
