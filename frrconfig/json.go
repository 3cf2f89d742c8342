package frrconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Prefixes is a list of prefixes. Its JSON form is one string of
// space-separated prefixes ("192.0.2.1/32 192.0.2.2/32"), not an array of
// strings: a node may announce tens of thousands, and encoding/json spends
// far more on an array element than netip.ParsePrefix on a word. It is a
// TextMarshaler rather than a json.Marshaler because encoding/json copies a
// text through quickly but scans a Marshaler's output once more.
type Prefixes []netip.Prefix

// MarshalText implements encoding.TextMarshaler.
func (ps Prefixes) MarshalText() ([]byte, error) {
	b := make([]byte, 0, len(ps)*20)
	for i, p := range ps {
		if !p.IsValid() {
			return nil, fmt.Errorf("prefix %d of %d is not valid", i+1, len(ps))
		}
		if i > 0 {
			b = append(b, ' ')
		}
		b = p.AppendTo(b)
	}
	return b, nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (ps *Prefixes) UnmarshalText(b []byte) error {
	out := make(Prefixes, 0, bytes.Count(b, []byte{' '})+1)
	for w := range strings.FieldsSeq(string(b)) {
		p, err := netip.ParsePrefix(w)
		if err != nil {
			return fmt.Errorf("prefixes: %w", err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		out = nil
	}
	*ps = out
	return nil
}

// Advertisements is a neighbor's list of advertisements. Its JSON form is a
// list of groups: the advertisements with the same attributes are one
// object holding their prefixes as Prefixes and the attributes once
// ({"prefixes": "192.0.2.1/32 192.0.2.2/32", "communities": ["65000:1"]}),
// so the JSON stays small and fast to read whatever the number of prefixes.
// A neighbor's advertisements are a set (a prefix at most once), so the
// list decodes grouped: groups in the order their attributes first appear,
// prefixes in their order within a group. After decoding, the
// advertisements of one group share their attribute slices; a Config is
// not changed in place.
type Advertisements []Advertisement

// advertisementGroup is the JSON form of the advertisements with the same
// attributes.
type advertisementGroup struct {
	Prefixes         Prefixes `json:"prefixes"`
	Communities      []string `json:"communities,omitempty"`
	LargeCommunities []string `json:"largeCommunities,omitempty"`
	LocalPref        *uint32  `json:"localPref,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (as Advertisements) MarshalJSON() ([]byte, error) {
	groups := []advertisementGroup{}
	var byKey map[string]int // used once there are many groups
	last := -1
	for i := range as {
		a := &as[i]
		g := -1
		switch {
		case last >= 0 && sameGroupAttrs(&groups[last], a):
			g = last
		case byKey == nil:
			for j := range groups {
				if sameGroupAttrs(&groups[j], a) {
					g = j
					break
				}
			}
		default:
			if j, ok := byKey[groupKey(a)]; ok {
				g = j
			}
		}
		if g < 0 {
			g = len(groups)
			groups = append(groups, advertisementGroup{Communities: a.Communities, LargeCommunities: a.LargeCommunities, LocalPref: a.LocalPref})
			if byKey == nil && len(groups) > 8 {
				byKey = make(map[string]int, len(groups))
				for j := range groups {
					byKey[groupKey(&Advertisement{Communities: groups[j].Communities, LargeCommunities: groups[j].LargeCommunities, LocalPref: groups[j].LocalPref})] = j
				}
			} else if byKey != nil {
				byKey[groupKey(a)] = g
			}
		}
		groups[g].Prefixes = append(groups[g].Prefixes, a.Prefix)
		last = g
	}
	// printed here rather than by json.Marshal, which would scan the long
	// prefix strings once more
	out := []byte{'['}
	for i := range groups {
		g := &groups[i]
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"prefixes":"`...)
		ps, err := g.Prefixes.MarshalText()
		if err != nil {
			return nil, err
		}
		out = append(out, ps...) // digits, hex, '.', ':', '/' and spaces: nothing to escape
		out = append(out, '"')
		for _, f := range []struct {
			name string
			list []string
		}{{"communities", g.Communities}, {"largeCommunities", g.LargeCommunities}} {
			if len(f.list) == 0 {
				continue
			}
			l, err := json.Marshal(f.list)
			if err != nil {
				return nil, err
			}
			out = append(out, `,"`+f.name+`":`...)
			out = append(out, l...)
		}
		if g.LocalPref != nil {
			out = append(out, `,"localPref":`...)
			out = strconv.AppendUint(out, uint64(*g.LocalPref), 10)
		}
		out = append(out, '}')
	}
	return append(out, ']'), nil
}

func sameGroupAttrs(g *advertisementGroup, a *Advertisement) bool {
	return slices.Equal(g.Communities, a.Communities) && slices.Equal(g.LargeCommunities, a.LargeCommunities) &&
		(g.LocalPref == nil) == (a.LocalPref == nil) && (g.LocalPref == nil || *g.LocalPref == *a.LocalPref)
}

// groupKey identifies an advertisement's raw attributes.
func groupKey(a *Advertisement) string {
	lp := "-"
	if a.LocalPref != nil {
		lp = strconv.FormatUint(uint64(*a.LocalPref), 10)
	}
	return strings.Join(a.Communities, ",") + "|" + strings.Join(a.LargeCommunities, ",") + "|" + lp
}

// UnmarshalJSON implements json.Unmarshaler.
func (as *Advertisements) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*as = nil
		return nil
	}
	var groups []advertisementGroup
	if err := json.Unmarshal(b, &groups); err != nil {
		return fmt.Errorf("advertisements: %w", err)
	}
	n := 0
	for _, r := range groups {
		n += len(r.Prefixes)
	}
	if n == 0 {
		*as = nil
		return nil
	}
	out := make(Advertisements, 0, n)
	for _, r := range groups {
		for _, p := range r.Prefixes {
			out = append(out, Advertisement{Prefix: p, Communities: r.Communities, LargeCommunities: r.LargeCommunities, LocalPref: r.LocalPref})
		}
	}
	*as = out
	return nil
}
