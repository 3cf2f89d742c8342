package vtysh

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Func runs vtysh with args (for example "-c", "show bfd peers json") and
// returns its standard output. When vtysh fails, the error is an *Error
// holding both outputs.
type Func func(ctx context.Context, args ...string) (string, error)

// Error is a failed vtysh run.
type Error struct {
	// Args are the arguments vtysh ran with.
	Args []string
	// Stdout and Stderr are what vtysh printed.
	Stdout, Stderr string
	// Err is the exit error.
	Err error
}

// Error implements error. It names the command, not the output, which may
// be long: read Stdout and Stderr.
func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = strings.TrimSpace(e.Stdout)
	}
	if len(msg) > 512 {
		msg = msg[:512] + "..."
	}
	return fmt.Sprintf("vtysh %s: %v: %s", strings.Join(e.Args, " "), e.Err, msg)
}

// Unwrap returns the exit error.
func (e *Error) Unwrap() error { return e.Err }

// Output returns the standard output and standard error of a failed run
// (err is, or wraps, an *Error), or "" when err is of another kind.
func Output(err error) string {
	var ve *Error
	if errors.As(err, &ve) {
		return ve.Stdout + ve.Stderr
	}
	return ""
}

// Exec returns a Func running the vtysh binary (a path, or a name looked up
// in PATH), with pathspace as `-N pathspace` when it is not empty.
func Exec(binary, pathspace string) Func {
	var prefix []string
	if pathspace != "" {
		prefix = []string{"-N", pathspace}
	}
	return func(ctx context.Context, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, binary, append(append([]string(nil), prefix...), args...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout = &stdout
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return stdout.String(), &Error{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
		}
		return stdout.String(), nil
	}
}
