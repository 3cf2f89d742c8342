package grafanadash

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/heraldlb/herald/internal/testenv"
)

// Dashboard is the part of herald.json the tests read.
type Dashboard struct {
	Panels []struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// TestLint runs grafana's dashboard-linter in strict mode: a warning fails.
func TestLint(t *testing.T) {
	linter := testenv.Tool(t, "dashboard-linter", "dashboard-linter")
	out, err := exec.Command(linter, "lint", "--strict", "herald.json").CombinedOutput()
	if err != nil {
		t.Errorf("dashboard-linter lint --strict herald.json: %v\n%s", err, out)
	}
}

// TestQueriesUseDocumentedMetrics checks that every herald_ metric a
// panel queries is in docs/metrics.md (histogram series by their base
// name), and that every panel but rows has a query.
func TestQueriesUseDocumentedMetrics(t *testing.T) {
	b, err := os.ReadFile("herald.json")
	if err != nil {
		t.Fatal(err)
	}
	var d Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("herald.json: %v", err)
	}
	doc, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`herald_[a-z0-9_]+`)
	panels := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		panels++
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !strings.Contains(string(doc), "| `"+base+"` |") {
					t.Errorf("panel %q queries %s, which docs/metrics.md does not list", p.Title, m)
				}
			}
		}
	}
	if panels == 0 {
		t.Fatal("herald.json has no panel")
	}
}
