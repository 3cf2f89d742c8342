package redact

import (
	"regexp"
	"slices"
	"strings"
)

// Placeholder replaces a secret.
const Placeholder = "<redacted>"

// passwordRE matches the keyword "password" and the word after it: the
// whole run of non-space characters, so that a password holding quotes or
// backslashes (printed quoted by Go or shell-quoted by frr-reload.py) is
// taken out entirely, closing quote included.
var passwordRE = regexp.MustCompile(`(?i)(\bpassword[ \t]+)(\S+)`)

// Text returns s with every word following "password" replaced by
// Placeholder, and every occurrence of each non-empty secret too. It keeps
// the line structure of s (a newline is never part of a match).
func Text(s string, secrets ...string) string {
	// longest first, so that a secret holding another is replaced whole
	secrets = slices.Clone(secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range secrets {
		if sec != "" && sec != Placeholder {
			s = strings.ReplaceAll(s, sec, Placeholder)
		}
	}
	return passwordRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := passwordRE.FindStringSubmatch(m)
		if sub[2] == Placeholder || strings.HasPrefix(sub[2], Placeholder) {
			return m
		}
		return sub[1] + Placeholder
	})
}

// Passwords returns the words that follow "password" in config text (for
// example `neighbor 198.51.100.1 password s3cret`): the secrets of a
// rendered frr.conf, to pass to Text.
func Passwords(text string) []string {
	var out []string
	for _, m := range passwordRE.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[2]) {
			out = append(out, m[2])
		}
	}
	return out
}
