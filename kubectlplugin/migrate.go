package kubectlplugin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// MetalLBGroup is the API group of MetalLB's objects.
const MetalLBGroup = "metallb.io"

// Issue is one thing Migrate could not carry over as it was, or carried over
// with an action left to the user.
type Issue struct {
	// Object names the input object: "BGPPeer metallb-system/router".
	Object string
	// Field is the field at fault ("spec.password"), or "" for the whole
	// object.
	Field string
	// Message says what happened and what to do.
	Message string
}

func (i Issue) String() string {
	if i.Field == "" {
		return i.Object + ": " + i.Message
	}
	return i.Object + ": " + i.Field + ": " + i.Message
}

// MigrateResult is the outcome of Migrate.
type MigrateResult struct {
	// YAML holds the herald objects, one YAML document each, in input order.
	YAML []byte
	// Converted counts the objects in YAML.
	Converted int
	// NotConverted lists what was left out: whole objects and fields.
	// Any entry makes the migration partial.
	NotConverted []Issue
	// Notes list what was converted but needs an action (a Secret to copy).
	Notes []Issue
}

// kindRule says how the spec of one MetalLB kind maps onto herald's.
type kindRule struct {
	// same lists the spec fields whose name and meaning are the same.
	same []string
	// special handles the other fields a MetalLB version has; it returns
	// whether the field was handled.
	special func(c *conversion, field string, v any) bool
	// check strictly decodes the herald spec into its Go type.
	check func(spec []byte) error
}

// conversion is the state of converting one object.
type conversion struct {
	object       string
	namespace    string
	spec         map[string]any
	notConverted []Issue
	notes        []Issue
}

func (c *conversion) fail(field, msg string) {
	c.notConverted = append(c.notConverted, Issue{Object: c.object, Field: field, Message: msg})
}

func (c *conversion) note(field, msg string) {
	c.notes = append(c.notes, Issue{Object: c.object, Field: field, Message: msg})
}

func strictCheck[T any]() func([]byte) error {
	return func(b []byte) error {
		var v T
		return yaml.UnmarshalStrict(b, &v)
	}
}

// rules returns the conversion of each MetalLB kind herald has, keyed by
// kind; v1beta1 and v1beta2 objects of a kind share one rule.
func rules() map[string]kindRule {
	return map[string]kindRule{
		"IPAddressPool": {
			same:    []string{"addresses", "autoAssign", "avoidBuggyIPs"},
			special: poolSpecial,
			check:   strictCheck[v1beta1.IPAddressPoolSpec](),
		},
		"BGPPeer": {
			same: []string{"myASN", "peerASN", "dynamicASN", "peerAddress", "interface", "sourceAddress", "peerPort",
				"holdTime", "keepaliveTime", "connectTime", "routerID", "nodeSelectors", "bfdProfile", "ebgpMultiHop",
				"vrf", "enableGracefulRestart"},
			special: peerSpecial,
			check:   strictCheck[v1beta1.BGPPeerSpec](),
		},
		"BFDProfile": {
			same:  []string{"receiveInterval", "transmitInterval", "detectMultiplier", "echoInterval", "echoMode", "passiveMode", "minimumTtl"},
			check: strictCheck[v1beta1.BFDProfileSpec](),
		},
		"BGPAdvertisement": {
			same: []string{"aggregationLength", "aggregationLengthV6", "localPref", "communities", "ipAddressPools",
				"ipAddressPoolSelectors", "nodeSelectors", "peers"},
			check: strictCheck[v1beta1.BGPAdvertisementSpec](),
		},
		"L2Advertisement": {
			same:  []string{"ipAddressPools", "ipAddressPoolSelectors", "nodeSelectors", "interfaces"},
			check: strictCheck[v1beta1.L2AdvertisementSpec](),
		},
		"Community": {
			same:  []string{"communities"},
			check: strictCheck[v1beta1.CommunitySpec](),
		},
	}
}

// poolSpecial converts serviceAllocation, checking its keys one by one so
// that an unknown one is named.
func poolSpecial(c *conversion, field string, v any) bool {
	if field != "serviceAllocation" {
		return false
	}
	m, ok := v.(map[string]any)
	if !ok {
		c.fail("spec.serviceAllocation", "is not an object; write it as MetalLB documents it (priority, namespaces, namespaceSelectors, serviceSelectors)")
		return true
	}
	out := map[string]any{}
	for _, k := range sortedKeys(m) {
		switch k {
		case "priority", "namespaces", "namespaceSelectors", "serviceSelectors":
			out[k] = m[k]
		default:
			c.fail("spec.serviceAllocation."+k, "is not a field MetalLB or herald knows; it was left out — remove it, or set the intended field of spec.serviceAllocation by hand")
		}
	}
	c.spec["serviceAllocation"] = out
	return true
}

// peerSpecial handles the BGPPeer fields that do not carry over as they are.
func peerSpecial(c *conversion, field string, v any) bool {
	switch field {
	case "password":
		if s, _ := v.(string); s == "" {
			c.note("spec.password", "was empty and is left out (no password)")
			return true
		}
		c.fail("spec.password", fmt.Sprintf("herald takes no plain password in a BGPPeer, so it was left out (and is not printed here); "+
			"create a Secret holding it under the key %q in namespace %s (kubectl -n %s create secret generic NAME --type=kubernetes.io/basic-auth --from-literal=password=...) "+
			"and set spec.passwordSecret.name to NAME", "password", c.namespace, c.namespace))
	case "passwordSecret":
		m, ok := v.(map[string]any)
		if !ok {
			c.fail("spec.passwordSecret", "is not an object {name, namespace}; set spec.passwordSecret.name by hand")
			return true
		}
		name, _ := m["name"].(string)
		if name == "" {
			if len(m) > 0 {
				c.note("spec.passwordSecret", "has no name and is left out (no password)")
			}
			return true
		}
		for _, k := range sortedKeys(m) {
			if k != "name" && k != "namespace" {
				c.fail("spec.passwordSecret."+k, "is not a field of a Secret reference; it was left out")
			}
		}
		c.spec["passwordSecret"] = map[string]any{"name": name}
		from, _ := m["namespace"].(string)
		if from == "" {
			from = "MetalLB's namespace"
		}
		c.note("spec.passwordSecret", fmt.Sprintf("herald reads the Secret %q from its own namespace %s (key %q): copy it there from %s", name, c.namespace, "password", from))
	case "disableMP":
		if b, ok := v.(bool); ok && !b {
			c.note("spec.disableMP", "is false (one multiprotocol session), which is what herald always does: left out with the same meaning")
			return true
		}
		c.fail("spec.disableMP", "herald has no such field: it always opens one multiprotocol session per BGPPeer, activated in every family it advertises prefixes of; "+
			"left out — for separate IPv4 and IPv6 sessions, define one BGPPeer per peer address and restrict each BGPAdvertisement's peers")
	case "dualStackAddressFamily":
		b, ok := v.(bool)
		switch {
		case ok && b:
			c.note("spec.dualStackAddressFamily", "is true, which is what herald always does (the session is activated in every family it advertises prefixes of): left out with the same meaning")
		case ok:
			c.note("spec.dualStackAddressFamily", "is false, but herald activates the session in every family it advertises prefixes of, not only the peer address's: "+
				"left out — to keep the other family's prefixes off this peer, list the peers in the BGPAdvertisements of those pools")
		default:
			c.fail("spec.dualStackAddressFamily", "is not true or false; left out")
		}
	default:
		return false
	}
	return true
}

// Migrate converts the metallb.io objects in input (YAML or JSON, several
// documents, or List objects as `kubectl get -o yaml` prints) to
// heraldlb.io/v1beta1 objects in namespace. Fields with the same name and
// meaning are copied; every object or field it cannot convert is listed in
// NotConverted, never silently dropped. The error is for input that cannot
// be read at all.
func Migrate(input []byte, namespace string) (MigrateResult, error) {
	var res MigrateResult
	objs, err := readObjects(input)
	if err != nil {
		return res, err
	}
	rs := rules()
	var out bytes.Buffer
	n := 0
	for _, in := range objs {
		expanded, issues := expandAddressPool(in)
		res.NotConverted = append(res.NotConverted, issues...)
		for _, obj := range expanded {
			n++
			if err := convertInto(&res, &out, rs, obj, n, namespace); err != nil {
				return res, err
			}
		}
	}
	res.YAML = out.Bytes()
	return res, nil
}

// convertInto converts one object and adds it to res and out.
func convertInto(res *MigrateResult, out *bytes.Buffer, rs map[string]kindRule, obj map[string]any, n int, namespace string) error {
	herald, c := convertObject(rs, obj, n-1, namespace)
	res.NotConverted = append(res.NotConverted, c.notConverted...)
	res.Notes = append(res.Notes, c.notes...)
	if herald == nil {
		return nil
	}
	b, err := yaml.Marshal(herald)
	if err != nil {
		return fmt.Errorf("printing %s: %w", c.object, err)
	}
	out.WriteString("---\n")
	out.Write(b)
	res.Converted++
	return nil
}

// readObjects splits input into objects, expanding Lists.
func readObjects(input []byte) ([]map[string]any, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(input)))
	var objs []map[string]any
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading YAML document %d: %w", n, err)
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("parsing YAML document %d: %w", n, err)
		}
		if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, fmt.Errorf("YAML document %d is not an object: %w", n, err)
		}
		if kind, _ := obj["kind"].(string); strings.HasSuffix(kind, "List") {
			if items, ok := obj["items"].([]any); ok {
				for _, it := range items {
					m, ok := it.(map[string]any)
					if !ok {
						return nil, fmt.Errorf("YAML document %d: an item of the %s is not an object", n, kind)
					}
					objs = append(objs, m)
				}
				continue
			}
		}
		objs = append(objs, obj)
	}
}

// convertObject converts one object; nil when nothing can be converted.
func convertObject(rs map[string]kindRule, obj map[string]any, index int, namespace string) (map[string]any, *conversion) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	id := name
	if ns != "" {
		id = ns + "/" + name
	}
	if id == "" {
		id = fmt.Sprintf("#%d (no metadata.name)", index+1)
	}
	c := &conversion{object: strings.TrimSpace(kind + " " + id), namespace: namespace, spec: map[string]any{}}
	group, version, _ := strings.Cut(apiVersion, "/")
	if group != MetalLBGroup {
		c.fail("", fmt.Sprintf("apiVersion %q is not a metallb.io object; left out — apply it separately if you still need it", apiVersion))
		return nil, c
	}
	if version != "v1beta1" && version != "v1beta2" {
		c.fail("apiVersion", fmt.Sprintf("%q is not a MetalLB version migrate reads (v1beta1, v1beta2); left out — export the object as v1beta1 or v1beta2 (kubectl get %s.%s NAME -o yaml)", apiVersion, strings.ToLower(kind)+"s", apiVersion))
		return nil, c
	}
	rule, ok := rs[kind]
	if !ok {
		fix := "herald has no such kind; left out"
		switch kind {
		case "ServiceL2Status", "ServiceBGPStatus":
			fix = "a status object MetalLB writes itself; left out — herald reports this in NodeState"
		}
		c.fail("kind", fix)
		return nil, c
	}
	if name == "" {
		c.fail("metadata.name", "is missing; left out — give the object a name")
		return nil, c
	}
	for _, k := range sortedKeys(obj) {
		switch k {
		case "apiVersion", "kind", "metadata", "spec", "status":
		default:
			c.fail(k, "is not a field of a Kubernetes object; left out")
		}
	}
	spec, _ := obj["spec"].(map[string]any)
	if obj["spec"] != nil && spec == nil {
		c.fail("spec", "is not an object; left out — fix the input")
		return nil, c
	}
	same := map[string]bool{}
	for _, f := range rule.same {
		same[f] = true
	}
	for _, f := range sortedKeys(spec) {
		v := spec[f]
		switch {
		case same[f]:
			c.spec[f] = v
		case rule.special != nil && rule.special(c, f, v):
		default:
			c.fail("spec."+f, "is not a field herald knows for "+kind+"; left out — check MetalLB's documentation for it and set the matching herald field by hand, if there is one")
		}
	}
	if b, err := json.Marshal(c.spec); err != nil {
		c.fail("spec", fmt.Sprintf("cannot be printed: %v", err))
		return nil, c
	} else if err := rule.check(b); err != nil {
		c.fail("spec", fmt.Sprintf("does not fit herald's %s: %v; left out — fix the value in the input", kind, err))
		return nil, c
	}
	outMeta := map[string]any{"name": name, "namespace": namespace}
	if l, ok := meta["labels"].(map[string]any); ok && len(l) > 0 {
		outMeta["labels"] = l
	}
	if a, ok := meta["annotations"].(map[string]any); ok {
		keep := map[string]any{}
		for k, v := range a {
			if k != "kubectl.kubernetes.io/last-applied-configuration" {
				keep[k] = v
			}
		}
		if len(keep) > 0 {
			outMeta["annotations"] = keep
		}
	}
	out := map[string]any{
		"apiVersion": v1beta1.GroupVersion.String(),
		"kind":       kind,
		"metadata":   outMeta,
	}
	if len(c.spec) > 0 || kind == "IPAddressPool" || kind == "BGPPeer" {
		out["spec"] = c.spec
	}
	return out, c
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// expandAddressPool turns MetalLB's legacy v1beta1 AddressPool into the
// objects that replaced it in MetalLB, which herald has too: an
// IPAddressPool of the same name, and an L2Advertisement (protocol layer2)
// or one BGPAdvertisement per spec.bgpAdvertisements entry, or one with
// MetalLB's defaults when there is none (protocol bgp). Other objects are
// returned as they are.
func expandAddressPool(obj map[string]any) ([]map[string]any, []Issue) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if apiVersion != MetalLBGroup+"/v1beta1" || kind != "AddressPool" {
		return []map[string]any{obj}, nil
	}
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	id := "AddressPool " + name
	if ns != "" {
		id = "AddressPool " + ns + "/" + name
	}
	spec, _ := obj["spec"].(map[string]any)
	var issues []Issue
	if name == "" {
		return nil, []Issue{{Object: id, Field: "metadata.name", Message: "is missing; left out — give the object a name"}}
	}
	mk := func(kind, name string, spec map[string]any) map[string]any {
		m := map[string]any{"name": name}
		if ns != "" {
			m["namespace"] = ns
		}
		if l, ok := meta["labels"]; ok && kind == "IPAddressPool" {
			m["labels"] = l
		}
		return map[string]any{"apiVersion": MetalLBGroup + "/v1beta1", "kind": kind, "metadata": m, "spec": spec}
	}
	pool := map[string]any{}
	var advs []map[string]any
	protocol, _ := spec["protocol"].(string)
	for _, f := range sortedKeys(spec) {
		switch f {
		case "addresses", "autoAssign", "avoidBuggyIPs":
			pool[f] = spec[f]
		case "protocol", "bgpAdvertisements":
		default:
			issues = append(issues, Issue{Object: id, Field: "spec." + f, Message: "is not a field of MetalLB's AddressPool; left out"})
		}
	}
	switch protocol {
	case "layer2":
		advs = append(advs, mk("L2Advertisement", name, map[string]any{"ipAddressPools": []any{name}}))
		if _, ok := spec["bgpAdvertisements"]; ok {
			issues = append(issues, Issue{Object: id, Field: "spec.bgpAdvertisements", Message: "applies to protocol bgp only and this pool is layer2; left out"})
		}
	case "bgp":
		list, _ := spec["bgpAdvertisements"].([]any)
		if len(list) == 0 {
			advs = append(advs, mk("BGPAdvertisement", name, map[string]any{"ipAddressPools": []any{name}}))
		}
		for i, e := range list {
			a, ok := e.(map[string]any)
			if !ok {
				issues = append(issues, Issue{Object: id, Field: fmt.Sprintf("spec.bgpAdvertisements[%d]", i), Message: "is not an object; left out"})
				continue
			}
			adv := map[string]any{"ipAddressPools": []any{name}}
			for _, f := range sortedKeys(a) {
				switch f {
				case "aggregationLength", "aggregationLengthV6", "localPref", "communities":
					adv[f] = a[f]
				default:
					issues = append(issues, Issue{Object: id, Field: fmt.Sprintf("spec.bgpAdvertisements[%d].%s", i, f), Message: "is not a field of MetalLB's legacy BGP advertisement; left out"})
				}
			}
			advName := name
			if len(list) > 1 {
				advName = fmt.Sprintf("%s-%d", name, i+1)
			}
			advs = append(advs, mk("BGPAdvertisement", advName, adv))
		}
	default:
		issues = append(issues, Issue{Object: id, Field: "spec.protocol", Message: fmt.Sprintf("is %q, not layer2 or bgp; the pool is converted without an advertisement — create a BGPAdvertisement or L2Advertisement naming pool %s", protocol, name)})
	}
	return append([]map[string]any{mk("IPAddressPool", name, pool)}, advs...), issues
}
