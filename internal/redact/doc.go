// Package redact takes secrets out of text before it reaches a log, an
// event, a status or an error message: the value after the keyword
// "password" (FRR's `neighbor X password Y`, in every shape FRR, vtysh and
// frr-reload.py print it), and any of a list of known secret values
// wherever they appear.
package redact
