package v1beta1_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/testenv"
	"github.com/heraldlb/herald/ipam"
)

// poolSchema is the IPAddressPool CRD's schema, compiled as the API server
// compiles it, so that its CEL rules run in-process (no API server), fast
// enough to fuzz.
type poolSchema struct {
	s         *structuralschema.Structural
	validator *cel.Validator
	maxLen    int64
	pattern   *regexp.Regexp
}

func loadPoolSchema(t testing.TB) *poolSchema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "config", "crd", "heraldlb.io_ipaddresspools.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatalf("decoding the IPAddressPool CRD: %v", err)
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(crd.Spec.Versions[0].Schema.OpenAPIV3Schema, &internal, nil); err != nil {
		t.Fatalf("converting the schema: %v", err)
	}
	s, err := structuralschema.NewStructural(&internal)
	if err != nil {
		t.Fatalf("structural schema: %v", err)
	}
	v := cel.NewValidator(s, true, celconfig.PerCallLimit)
	if v == nil {
		t.Fatal("the IPAddressPool schema has no CEL rules")
	}
	items := s.Properties["spec"].Properties["addresses"].Items
	if items.ValueValidation == nil || items.ValueValidation.MaxLength == nil || items.ValueValidation.Pattern == "" {
		t.Fatal("spec.addresses items have no maxLength or pattern")
	}
	return &poolSchema{s: s, validator: v, maxLen: *items.ValueValidation.MaxLength, pattern: regexp.MustCompile(items.ValueValidation.Pattern)}
}

// admit runs the schema's CEL rules on a pool holding addrs and returns
// the errors and the CEL cost spent.
func (p *poolSchema) admit(addrs []v1beta1.AddressRange, avoidBuggy bool) (errs []string, cost int64) {
	list := make([]any, len(addrs))
	for i, a := range addrs {
		list[i] = string(a)
	}
	obj := map[string]any{
		"apiVersion": v1beta1.GroupVersion.String(), "kind": "IPAddressPool",
		"metadata": map[string]any{"name": "p", "namespace": ns},
		"spec":     map[string]any{"addresses": list, "avoidBuggyIPs": avoidBuggy, "autoAssign": true},
	}
	fe, remaining := p.validator.Validate(context.Background(), nil, p.s, obj, nil, celconfig.RuntimeCELCostBudget)
	for _, e := range fe {
		errs = append(errs, e.Error())
	}
	return errs, celconfig.RuntimeCELCostBudget - remaining
}

// FuzzAddressRange checks that the CRD's rules for one pool entry (CEL, plus
// the entry's maxLength and pattern) and ipam.ParseRange, which the
// controller reads entries with, agree: admission never takes what ipam
// refuses, and refuses what ipam takes only for surrounding whitespace or
// length. testdata/fuzz holds the inputs the fuzzer found disagreeing.
func FuzzAddressRange(f *testing.F) {
	for _, e := range addressEntries {
		f.Add(e)
	}
	for _, e := range randomRangesSeed() {
		f.Add(e)
	}
	p := loadPoolSchema(f)
	f.Fuzz(func(t *testing.T, entry string) {
		if !utf8.ValidString(entry) || entry == "" {
			return // JSON carries only valid UTF-8; minLength is 1
		}
		// Admission is stricter than ipam on two points only: the length
		// of an entry and whitespace around it (ipam trims it away).
		schemaOnly := int64(len([]rune(entry))) > p.maxLen || !p.pattern.MatchString(entry) || strings.TrimSpace(entry) != entry
		errs, _ := p.admit([]v1beta1.AddressRange{v1beta1.AddressRange(entry)}, false)
		admitted := len(errs) == 0 && !schemaOnly
		_, perr := ipam.ParseRange(entry)
		switch {
		case admitted && perr != nil:
			t.Errorf("%q: admitted, but ipam.ParseRange refuses it: %v", entry, perr)
		case !admitted && perr == nil && !schemaOnly:
			t.Errorf("%q: ipam.ParseRange takes it, but CEL refuses it: %v", entry, errs)
		}
	})
}

func randomRangesSeed() []string {
	return randomRanges(newRand(3), 40)
}

// TestLargestPoolCELCost reports how much of the API server's per-object
// CEL budget the largest allowed pool spends, and fails above half of it.
func TestLargestPoolCELCost(t *testing.T) {
	p := loadPoolSchema(t)
	errs, cost := p.admit(largestPool(), true)
	if len(errs) != 0 {
		t.Fatalf("the largest pool is refused: %v", errs)
	}
	t.Logf("CEL cost of the largest pool: %d of the per-object budget %d (%.1f%%)", cost, celconfig.RuntimeCELCostBudget, 100*float64(cost)/float64(celconfig.RuntimeCELCostBudget))
	if cost > celconfig.RuntimeCELCostBudget/2 {
		t.Errorf("the largest pool spends %d of the CEL budget %d: more than half leaves no room for the schema to grow", cost, celconfig.RuntimeCELCostBudget)
	}
}

// FuzzNoUsableAddress checks the pool rule "with avoidBuggyIPs, some
// address must be usable" against ipam, which refuses such a pool: for two
// entries that ipam takes together without avoidBuggyIPs, admission with
// avoidBuggyIPs must accept exactly the pools ipam accepts.
func FuzzNoUsableAddress(f *testing.F) {
	for _, seed := range [][2]string{
		{"192.0.2.0/32", "192.0.2.255-192.0.3.0"},
		{"192.0.2.0/32", "192.0.2.255/32"},
		{"192.0.2.0/31", "198.51.100.255/32"},
		{"192.0.2.255-192.0.2.255", "2001:db8::/128"},
		{"192.0.2.255-192.0.3.1", "198.51.100.0/32"},
		{"192.0.2.254-192.0.3.0", "198.51.100.0/24"},
		{"0.0.0.0/32", "255.255.255.255/32"},
		{"192.0.2.0 - 192.0.2.0", "192.0.3.255-192.0.4.0"},
	} {
		f.Add(seed[0], seed[1])
	}
	p := loadPoolSchema(f)
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, e := range []string{a, b} {
			if !utf8.ValidString(e) || e == "" || int64(len([]rune(e))) > p.maxLen || !p.pattern.MatchString(e) || strings.TrimSpace(e) != e {
				return
			}
		}
		addrs := []string{a, b}
		if res := ipam.New().SetPools([]ipam.Pool{{Name: "p", Addresses: addrs}}); res.Errors["p"] != nil {
			return // not a valid pool whatever avoidBuggyIPs says (bad entry, overlap)
		}
		if errs, _ := p.admit([]v1beta1.AddressRange{v1beta1.AddressRange(a), v1beta1.AddressRange(b)}, false); len(errs) != 0 {
			t.Fatalf("%q: ipam takes the pool but admission refuses it: %v", addrs, errs)
		}
		ipamErr := ipam.New().SetPools([]ipam.Pool{{Name: "p", Addresses: addrs, AvoidBuggyIPs: true}}).Errors["p"]
		errs, _ := p.admit([]v1beta1.AddressRange{v1beta1.AddressRange(a), v1beta1.AddressRange(b)}, true)
		switch {
		case ipamErr == nil && len(errs) != 0:
			t.Errorf("%q with avoidBuggyIPs: ipam takes it, admission refuses it: %v", addrs, errs)
		case ipamErr != nil && len(errs) == 0:
			t.Errorf("%q with avoidBuggyIPs: admitted, but ipam refuses it: %v", addrs, ipamErr)
		}
	})
}
