package main

import (
	"context"
	"errors"
)

// runFRRAgent is being built; see the open issues.
func runFRRAgent(_ context.Context, _ []string) error {
	return errors.New("not built yet")
}
