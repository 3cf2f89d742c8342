package frrconfig

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigJSON(t *testing.T) {
	lp := u32(200)
	c := &Config{Routers: []Router{{
		ASN:          64512,
		IPv4Networks: pfxs("192.0.2.1/32", "192.0.2.2/32", "192.0.2.128/25"),
		IPv6Networks: pfxs("2001:db8:200::1/128"),
		Neighbors: []Neighbor{{
			Address: addr("198.51.100.1"), RemoteAS: "64513",
			Advertise: Advertisements{
				{Prefix: pfx("192.0.2.1/32"), Communities: []string{"65000:1"}},
				{Prefix: pfx("192.0.2.2/32"), Communities: []string{"65000:1"}},
				{Prefix: pfx("192.0.2.128/25"), LargeCommunities: []string{"1:2:3"}, LocalPref: lp},
				{Prefix: pfx("2001:db8:200::1/128"), Communities: []string{"65000:1"}},
			},
		}, {Address: addr("198.51.100.2"), RemoteAS: "64514"}},
	}}}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"ipv4Networks":"192.0.2.1/32 192.0.2.2/32 192.0.2.128/25"`,
		`"advertise":[{"prefixes":"192.0.2.1/32 192.0.2.2/32 2001:db8:200::1/128","communities":["65000:1"]},` +
			`{"prefixes":"192.0.2.128/25","largeCommunities":["1:2:3"],"localPref":200}]`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), `"198.51.100.2","remoteAS":"64514","advertise"`) {
		t.Errorf("an empty advertise list is printed:\n%s", b)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	// the decoded advertisements are grouped by attributes
	n := &c.Routers[0].Neighbors[0]
	n.Advertise[2], n.Advertise[3] = n.Advertise[3], n.Advertise[2]
	if diff := cmp.Diff(c, &back, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("round trip (-sent +read):\n%s", diff)
	}
}

func TestPrefixesUnmarshal(t *testing.T) {
	tests := []struct {
		in      string
		want    Prefixes
		wantErr string
	}{
		{in: `"192.0.2.1/32  2001:db8::/64"`, want: pfxs("192.0.2.1/32", "2001:db8::/64")},
		{in: `""`, want: nil},
		{in: `"192.0.2.1/32 192.0.2.300/32"`, wantErr: `192.0.2.300/32`},
		{in: `"192.0.2.1"`, wantErr: `no '/'`},
		{in: `17`, wantErr: "cannot unmarshal number"},
		{in: `"192.0.2.1/32\u0020192.0.2.2/32"`, want: pfxs("192.0.2.1/32", "192.0.2.2/32")},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var got Prefixes
			err := json.Unmarshal([]byte(tc.in), &got)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Unmarshal(%s) = %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("Unmarshal(%s) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestAdvertisementsUnmarshalErrors(t *testing.T) {
	for _, in := range []string{`{"prefixes":"192.0.2.1/32"}`, `[{"prefixes":"192.0.2.1"}]`, `[{"prefixes":"192.0.2.1/32","localPref":"high"}]`} {
		var got Advertisements
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("Unmarshal(%s) = %v; want an error", in, got)
		}
	}
}

func BenchmarkConfigJSON(b *testing.B) {
	c := bigConfig(20000)
	data, err := json.Marshal(c)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		loop(b, func() {
			if _, err := json.Marshal(c); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		loop(b, func() {
			var back Config
			if err := json.Unmarshal(data, &back); err != nil {
				b.Fatal(err)
			}
		})
	})
}
