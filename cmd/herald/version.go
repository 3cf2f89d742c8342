package main

import (
	"context"
	"fmt"

	"github.com/heraldlb/herald/internal/version"
)

func runVersion(_ context.Context, _ []string) error {
	fmt.Println("herald", version.String())
	return nil
}
