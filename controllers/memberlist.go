package controllers

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// MemberlistKeyBytes is the size of the key EnsureMemberlistSecret makes:
// AES-256 for the speakers' membership traffic.
const MemberlistKeyBytes = 32

// EnsureMemberlistSecret creates the Secret namespace/name holding a random
// "key" that encrypts the speakers' Layer 2 membership traffic, unless it
// exists; an existing Secret is never changed (the speakers read its key at
// start-up). Every replica calls it at start: the first create wins, the
// others find it. It needs get and create on Secrets in namespace.
func EnsureMemberlistSecret(ctx context.Context, c client.Client, api client.Reader, namespace, name string, log logr.Logger) error {
	var sec corev1.Secret
	err := api.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &sec)
	switch {
	case err == nil:
		log.V(1).Info("the membership Secret exists", "secret", namespace+"/"+name)
		return nil
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("reading the membership Secret %s/%s: %w", namespace, name, err)
	}
	key := make([]byte, MemberlistKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("making a membership key: %w", err)
	}
	sec = corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name,
			Labels: map[string]string{"app.kubernetes.io/name": "herald", "app.kubernetes.io/component": "speaker"}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"key": key},
	}
	if err := c.Create(ctx, &sec); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return fmt.Errorf("creating the membership Secret %s/%s: %w", namespace, name, err)
	}
	log.Info("created the membership Secret with a random key: the speakers encrypt their Layer 2 membership with it", "secret", namespace+"/"+name)
	return nil
}
