package kubectlplugin

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/impact"
)

// Edit is one object read from a file for kubectl herald diff -f.
type Edit struct {
	// Source is the file and document it came from, "pools.yaml#2".
	Source string
	// Kind, Namespace and Name identify the object.
	Kind, Namespace, Name string
	// Object is the typed object: a *corev1.Service or one of herald's
	// kinds (*v1beta1.IPAddressPool, ...).
	Object metav1.Object
	// New is set by Overlay when no object of that name exists.
	New bool
	// Delete removes the object instead (diff --delete KIND/NAME); Object
	// is nil then.
	Delete bool
}

// String names the edit: "IPAddressPool herald-system/prod (new)".
func (e Edit) String() string {
	s := e.Kind + " " + e.Namespace + "/" + e.Name
	if e.Delete {
		s += " (deleted)"
	} else if e.New {
		s += " (new)"
	} else {
		s += " (edited)"
	}
	return s
}

// ReadEdits reads the objects of one YAML or JSON file (several documents,
// Lists expanded): herald's kinds, which must be in heraldNS (or give no
// namespace), and Services, in defaultNS when they give none. Anything
// else, or a field herald's API does not know, is an error naming the file,
// the document and the fix.
func ReadEdits(file string, data []byte, heraldNS, defaultNS string) ([]Edit, error) {
	objs, err := readObjects(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []Edit
	for i, m := range objs {
		src := fmt.Sprintf("%s#%d", file, i+1)
		apiVersion, _ := m["apiVersion"].(string)
		kind, _ := m["kind"].(string)
		var obj metav1.Object
		herald := true
		switch {
		case apiVersion == "v1" && kind == "Service":
			obj, herald = &corev1.Service{}, false
		case apiVersion != v1beta1.GroupVersion.String():
			return nil, fmt.Errorf("%s: %s %s: kubectl herald diff reads %s objects and v1 Services only; remove it from the input (convert metallb.io objects with kubectl herald migrate first)", src, apiVersion, kind, v1beta1.GroupVersion)
		case kind == "IPAddressPool":
			obj = &v1beta1.IPAddressPool{}
		case kind == "BGPPeer":
			obj = &v1beta1.BGPPeer{}
		case kind == "BFDProfile":
			obj = &v1beta1.BFDProfile{}
		case kind == "BGPAdvertisement":
			obj = &v1beta1.BGPAdvertisement{}
		case kind == "L2Advertisement":
			obj = &v1beta1.L2Advertisement{}
		case kind == "Community":
			obj = &v1beta1.Community{}
		default:
			return nil, fmt.Errorf("%s: kind %s: kubectl herald diff reads IPAddressPool, BGPPeer, BFDProfile, BGPAdvertisement, L2Advertisement, Community and Service; remove it from the input", src, kind)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		if err := yaml.UnmarshalStrict(b, obj); err != nil {
			return nil, fmt.Errorf("%s: %s: %w; fix the field or remove it", src, kind, err)
		}
		if obj.GetName() == "" {
			return nil, fmt.Errorf("%s: %s has no metadata.name; name it", src, kind)
		}
		switch {
		case herald && obj.GetNamespace() == "":
			obj.SetNamespace(heraldNS)
		case herald && obj.GetNamespace() != heraldNS:
			return nil, fmt.Errorf("%s: %s %s/%s: herald reads its objects in namespace %s only; set metadata.namespace to %s (or --herald-namespace)", src, kind, obj.GetNamespace(), obj.GetName(), heraldNS, heraldNS)
		case obj.GetNamespace() == "":
			obj.SetNamespace(defaultNS)
		}
		out = append(out, Edit{Source: src, Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName(), Object: obj})
	}
	return out, nil
}

// Overlay returns a copy of s with the edits made (impact.With and
// impact.Without, as the admission webhook makes its one edit), marking
// the edits that create objects. Two edits of one object are an error, and
// so is deleting an object that does not exist.
func (s *Snapshot) Overlay(edits []Edit) (*Snapshot, error) {
	o := *s
	ps := s.planner()
	seen := map[string]string{}
	for i := range edits {
		e := &edits[i]
		id := e.Kind + " " + e.Namespace + "/" + e.Name
		if prev, ok := seen[id]; ok {
			return nil, fmt.Errorf("%s: %s is also in %s; keep one", e.Source, id, prev)
		}
		seen[id] = e.Source
		if e.Delete {
			var found bool
			if ps, found = impact.Without(&ps, e.Kind, e.Namespace, e.Name); !found {
				return nil, fmt.Errorf("%s: there is no %s %s/%s to delete; check the name", e.Source, e.Kind, e.Namespace, e.Name)
			}
			continue
		}
		var err error
		if ps, e.New, err = impact.With(&ps, e.Object); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Source, err)
		}
	}
	o.Services, o.Pools, o.Peers, o.BFDProfiles = ps.Services, ps.Pools, ps.Peers, ps.BFDProfiles
	o.BGPAdvertisements, o.L2Advertisements, o.Communities = ps.BGPAdvertisements, ps.L2Advertisements, ps.Communities
	return &o, nil
}

// Kinds diff --delete and -f take, by their lower-case names and plurals.
var deleteKinds = map[string]string{
	"ipaddresspool": "IPAddressPool", "ipaddresspools": "IPAddressPool",
	"bgppeer": "BGPPeer", "bgppeers": "BGPPeer",
	"bfdprofile": "BFDProfile", "bfdprofiles": "BFDProfile",
	"bgpadvertisement": "BGPAdvertisement", "bgpadvertisements": "BGPAdvertisement",
	"l2advertisement": "L2Advertisement", "l2advertisements": "L2Advertisement",
	"community": "Community", "communities": "Community",
	"service": "Service", "services": "Service", "svc": "Service",
}

// ParseDelete reads diff's --delete KIND/NAME (herald's kinds, in
// heraldNS) or svc/NAME, svc/NAMESPACE/NAME (Services, in defaultNS unless
// given).
func ParseDelete(arg, heraldNS, defaultNS string) (Edit, error) {
	parts := strings.Split(arg, "/")
	kind := deleteKinds[strings.ToLower(parts[0])]
	bad := fmt.Errorf("--delete %s: want KIND/NAME (ipaddresspool, bgppeer, bfdprofile, bgpadvertisement, l2advertisement, community) or svc/[NAMESPACE/]NAME", arg)
	switch {
	case kind == "" || len(parts) < 2 || len(parts) > 3:
		return Edit{}, bad
	case kind == "Service" && len(parts) == 3:
		return Edit{Source: "--delete " + arg, Kind: kind, Namespace: parts[1], Name: parts[2], Delete: true}, nil
	case len(parts) == 3 || parts[1] == "":
		return Edit{}, bad
	case kind == "Service":
		return Edit{Source: "--delete " + arg, Kind: kind, Namespace: defaultNS, Name: parts[1], Delete: true}, nil
	}
	return Edit{Source: "--delete " + arg, Kind: kind, Namespace: heraldNS, Name: parts[1], Delete: true}, nil
}
