package kubectlplugin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// migrateCases are the MetalLB inputs under testdata/migrate, each with its
// golden herald output testdata/TestMigrate_<name>.golden, and how many
// objects must be left out.
var migrateCases = []struct {
	name         string
	notConverted int
}{
	{name: "full", notConverted: 0},
	{name: "list", notConverted: 0},
	{name: "legacy", notConverted: 0},
	{name: "problems", notConverted: 7},
}

// migrateOutput prints a MigrateResult as the golden files hold it: the
// issues as YAML comments, then the objects.
func migrateOutput(res MigrateResult) []byte {
	var b bytes.Buffer
	for _, i := range res.NotConverted {
		b.WriteString("# not converted: " + i.String() + "\n")
	}
	for _, i := range res.Notes {
		b.WriteString("# note: " + i.String() + "\n")
	}
	b.Write(res.YAML)
	return b.Bytes()
}

func TestMigrate(t *testing.T) {
	for _, tc := range migrateCases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "migrate", tc.name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Migrate(in, "herald-system")
			if err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if len(res.NotConverted) != tc.notConverted {
				t.Errorf("%d issues not converted, want %d: %v", len(res.NotConverted), tc.notConverted, res.NotConverted)
			}
			out := migrateOutput(res)
			if bytes.Contains(out, []byte("s3cret")) {
				t.Errorf("a plain password reached the output:\n%s", out)
			}
			golden(t, "TestMigrate_"+tc.name, out)
		})
	}
}

func TestMigrateBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{name: "not YAML", in: "a: [1\n", want: "parsing YAML document 1"},
		{name: "not an object", in: "- 1\n- 2\n", want: "YAML document 1 is not an object"},
		{name: "second document", in: "kind: A\n---\n: :\n  - [\n", want: "document 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Migrate([]byte(tc.in), "herald-system")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Migrate(%q) error = %v, want one containing %q", tc.in, err, tc.want)
			}
		})
	}
}
