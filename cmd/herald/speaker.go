package main

import (
	"context"
	"errors"
)

// runSpeaker is being built; see the open issues.
func runSpeaker(_ context.Context, _ []string) error {
	return errors.New("not built yet")
}
