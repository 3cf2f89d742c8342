package kubectlplugin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/heraldlb/herald/internal/apitest"
)

// TestMigrateGoldenAccepted creates every object of every migrate golden
// file in a real API server with herald's CRDs: what migrate prints must be
// accepted as it is.
func TestMigrateGoldenAccepted(t *testing.T) {
	_, c := apitest.Start(t)
	apitest.Namespace(t, c, "herald-system")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := 0
	for _, tc := range migrateCases {
		data, err := os.ReadFile(filepath.Join("testdata", "TestMigrate_"+tc.name+".golden"))
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("decoding %s golden: %v", tc.name, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			// Objects of different cases may share a name.
			u.SetName(tc.name + "-" + u.GetName())
			if err := c.Create(ctx, u); err != nil {
				t.Errorf("%s: %s %s: the API server refused the converted object: %v", tc.name, u.GetKind(), u.GetName(), err)
			}
			n++
		}
	}
	if n < 10 {
		t.Errorf("only %d objects created from the golden files; expected every kind", n)
	}
}
