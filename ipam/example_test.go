package ipam_test

import (
	"errors"
	"fmt"

	"github.com/heraldlb/herald/ipam"
)

func Example() {
	a := ipam.New()
	res := a.SetPools([]ipam.Pool{
		{Name: "lan", Addresses: []string{"192.0.2.0/24", "2001:db8::/64"}, AutoAssign: true, AvoidBuggyIPs: true},
		{Name: "bad", Addresses: []string{"198.51.100.20-198.51.100.10"}},
	})
	fmt.Println(res.Errors["bad"])

	ips, _ := a.Allocate(ipam.Service{Key: "default/web", IPFamilyPolicy: ipam.RequireDualStack, IPFamilies: []ipam.Family{ipam.IPv4, ipam.IPv6}})
	fmt.Println(ips)

	_, err := a.Allocate(ipam.Service{Key: "default/db", Pool: "bad"})
	var e *ipam.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason)
	}
	fmt.Println(a.Stats()["lan"].IPv6.Available)
	// Output:
	// pool "bad": addresses[0]: range "198.51.100.20-198.51.100.10" is reversed: write 198.51.100.10-198.51.100.20
	// [192.0.2.1 2001:db8::1]
	// InvalidRequest
	// 18446744073709551614
}
