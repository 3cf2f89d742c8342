package frrconfig

import (
	"bytes"
	"embed"
	"fmt"
	"text/template"
)

//go:embed templates/frr.conf.tmpl
var templateFS embed.FS

// templates holds the parsed templates; they are parsed once and never
// changed, so concurrent Render calls share them safely.
var templates = template.Must(template.New("frr").ParseFS(templateFS, "templates/frr.conf.tmpl"))

// Render validates c and returns frr.conf in the form FRR 8.4 prints it in
// `show running-config`. The output depends only on c: lists are sorted,
// sequence numbers derived from what they number (see the package
// documentation). It returns the *ValidationError of Validate when c is
// invalid.
func Render(c *Config) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("rendering frr config: %w", err)
	}
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, "config", buildPlan(c)); err != nil {
		return nil, fmt.Errorf("rendering frr config: %w", err)
	}
	return b.Bytes(), nil
}
