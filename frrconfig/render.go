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
// numbers derived from what they number (see the package documentation).
// It returns the *ValidationError of Validate when c is invalid.
func Render(c *Config) ([]byte, error) {
	p, err := NewPlan(c)
	if err != nil {
		return nil, err
	}
	return p.Text(), nil
}

// Plan is a validated Config with every decision taken (names, tags,
// sequence numbers, FRR's order) and its rendered file. A caller that
// applies configs one after the other keeps the Plan of the running one:
// DiffPlans then costs one NewPlan for the new config instead of two. A
// Plan is immutable; the Config it was made from must not change.
type Plan struct {
	cfg  *Config
	p    *plan
	text []byte
}

// NewPlan validates c, plans it and renders it. It returns the
// *ValidationError of Validate when c is invalid.
func NewPlan(c *Config) (*Plan, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("rendering frr config: %w", err)
	}
	p := buildPlan(c)
	var b bytes.Buffer
	// Room for the network lines, most of a big config, and the rest.
	n := 4096
	for _, r := range c.Routers {
		n += 64 * (len(r.IPv4Networks) + len(r.IPv6Networks))
	}
	b.Grow(n)
	if err := templates.ExecuteTemplate(&b, "config", p); err != nil {
		return nil, fmt.Errorf("rendering frr config: %w", err)
	}
	return &Plan{cfg: c, p: p, text: b.Bytes()}, nil
}

// Config is the config the plan was made from.
func (p *Plan) Config() *Config { return p.cfg }

// Text is the rendered frr.conf, as Render returns it. The caller must not
// change it.
func (p *Plan) Text() []byte { return p.text }
