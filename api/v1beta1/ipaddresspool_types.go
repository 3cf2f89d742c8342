package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AddressRange is one entry of an IPAddressPool: a CIDR ("192.0.2.0/26",
// "2001:db8:200::/64") or an inclusive range of two addresses of the same
// family written first-last ("192.0.2.10-192.0.2.20"; spaces around the
// dash are allowed, not around the entry). A CIDR must name its network
// address (no bits set beyond the prefix length), and a range must not run
// backwards. These are the rules of ipam.ParseRange, which reads the entries.
//
// CEL has no ordering of IP addresses, so the ends of a range are compared
// bit by bit with the CIDR library: at the first bit where they differ (the
// prefix length p where first/p still contains last and first/(p+1) no
// longer does) the first end must have a 0. The check is split into four
// rules of 32 bits each to stay within the API server's CEL cost budget; a
// reversed range fails exactly one of them.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=100
// +kubebuilder:validation:Pattern=`^\S(.*\S)?$`
// +kubebuilder:validation:XValidation:rule="isCIDR(self) || (!isCIDR(self) && self.contains('-') && isIP(self.substring(0, self.indexOf('-')).trim()) && isIP(self.substring(self.indexOf('-') + 1).trim()))",messageExpression="'spec.addresses: \"' + self + '\" is neither a CIDR (192.0.2.0/26, 2001:db8:200::/64) nor a range of two addresses first-last (192.0.2.10-192.0.2.20); fix the entry'"
// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).ip() == cidr(self).masked().ip()",messageExpression="'spec.addresses: \"' + self + '\" has bits set beyond its prefix length; write its network address instead (192.0.2.0/24 for 192.0.2.5/24, 2001:db8::/64 for 2001:db8::1/64)'"
// +kubebuilder:validation:XValidation:rule="!(!isCIDR(self) && self.contains('-') && isIP(self.substring(0, self.indexOf('-')).trim()) && isIP(self.substring(self.indexOf('-') + 1).trim())) || ip(self.substring(0, self.indexOf('-')).trim()).family() == ip(self.substring(self.indexOf('-') + 1).trim()).family()",messageExpression="'spec.addresses: range \"' + self + '\" mixes IPv4 and IPv6; both ends of a range must be of the same family (write one range per family)'"
// +kubebuilder:validation:XValidation:rule="!((!isCIDR(self) && self.contains('-') && isIP(self.substring(0, self.indexOf('-')).trim()) && isIP(self.substring(self.indexOf('-') + 1).trim())) && ip(self.substring(0, self.indexOf('-')).trim()).family() == ip(self.substring(self.indexOf('-') + 1).trim()).family() && ['/0/1', '/1/2', '/2/3', '/3/4', '/4/5', '/5/6', '/6/7', '/7/8', '/8/9', '/9/10', '/10/11', '/11/12', '/12/13', '/13/14', '/14/15', '/15/16', '/16/17', '/17/18', '/18/19', '/19/20', '/20/21', '/21/22', '/22/23', '/23/24', '/24/25', '/25/26', '/26/27', '/27/28', '/28/29', '/29/30', '/30/31', '/31/32'].exists(i, s, cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(0, s.lastIndexOf('/'))).containsIP(self.substring(self.indexOf('-') + 1).trim()) && !cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(s.lastIndexOf('/'))).containsIP(self.substring(self.indexOf('-') + 1).trim()) && !(cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(s.lastIndexOf('/'))).masked().ip() == cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(0, s.lastIndexOf('/'))).masked().ip())))",messageExpression="'spec.addresses: range \"' + self + '\" is reversed: its first address is above its last; write it lowest-highest'"
// +kubebuilder:validation:XValidation:rule="!((!isCIDR(self) && self.contains('-') && isIP(self.substring(0, self.indexOf('-')).trim()) && isIP(self.substring(self.indexOf('-') + 1).trim())) && ip(self.substring(0, self.indexOf('-')).trim()).family() == 6 && ip(self.substring(self.indexOf('-') + 1).trim()).family() == 6 && ['/32/33', '/33/34', '/34/35', '/35/36', '/36/37', '/37/38', '/38/39', '/39/40', '/40/41', '/41/42', '/42/43', '/43/44', '/44/45', '/45/46', '/46/47', '/47/48', '/48/49', '/49/50', '/50/51', '/51/52', '/52/53', '/53/54', '/54/55', '/55/56', '/56/57', '/57/58', '/58/59', '/59/60', '/60/61', '/61/62', '/62/63', '/63/64'].exists(i, s, cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(0, s.lastIndexOf('/'))).containsIP(self.substring(self.indexOf('-') + 1).trim()) && !cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(s.lastIndexOf('/'))).containsIP(self.substring(self.indexOf('-') + 1).trim()) && !(cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(s.lastIndexOf('/'))).masked().ip() == cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(0, s.lastIndexOf('/'))).masked().ip())))",messageExpression="'spec.addresses: range \"' + self + '\" is reversed: its first address is above its last; write it lowest-highest'"
// +kubebuilder:validation:XValidation:rule="!((!isCIDR(self) && self.contains('-') && isIP(self.substring(0, self.indexOf('-')).trim()) && isIP(self.substring(self.indexOf('-') + 1).trim())) && ip(self.substring(0, self.indexOf('-')).trim()).family() == 6 && ip(self.substring(self.indexOf('-') + 1).trim()).family() == 6 && ['/64/65', '/65/66', '/66/67', '/67/68', '/68/69', '/69/70', '/70/71', '/71/72', '/72/73', '/73/74', '/74/75', '/75/76', '/76/77', '/77/78', '/78/79', '/79/80', '/80/81', '/81/82', '/82/83', '/83/84', '/84/85', '/85/86', '/86/87', '/87/88', '/88/89', '/89/90', '/90/91', '/91/92', '/92/93', '/93/94', '/94/95', '/95/96'].exists(i, s, cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(0, s.lastIndexOf('/'))).containsIP(self.substring(self.indexOf('-') + 1).trim()) && !cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(s.lastIndexOf('/'))).containsIP(self.substring(self.indexOf('-') + 1).trim()) && !(cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(s.lastIndexOf('/'))).masked().ip() == cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(0, s.lastIndexOf('/'))).masked().ip())))",messageExpression="'spec.addresses: range \"' + self + '\" is reversed: its first address is above its last; write it lowest-highest'"
// +kubebuilder:validation:XValidation:rule="!((!isCIDR(self) && self.contains('-') && isIP(self.substring(0, self.indexOf('-')).trim()) && isIP(self.substring(self.indexOf('-') + 1).trim())) && ip(self.substring(0, self.indexOf('-')).trim()).family() == 6 && ip(self.substring(self.indexOf('-') + 1).trim()).family() == 6 && ['/96/97', '/97/98', '/98/99', '/99/100', '/100/101', '/101/102', '/102/103', '/103/104', '/104/105', '/105/106', '/106/107', '/107/108', '/108/109', '/109/110', '/110/111', '/111/112', '/112/113', '/113/114', '/114/115', '/115/116', '/116/117', '/117/118', '/118/119', '/119/120', '/120/121', '/121/122', '/122/123', '/123/124', '/124/125', '/125/126', '/126/127', '/127/128'].exists(i, s, cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(0, s.lastIndexOf('/'))).containsIP(self.substring(self.indexOf('-') + 1).trim()) && !cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(s.lastIndexOf('/'))).containsIP(self.substring(self.indexOf('-') + 1).trim()) && !(cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(s.lastIndexOf('/'))).masked().ip() == cidr(self.substring(0, self.indexOf('-')).trim() + s.substring(0, s.lastIndexOf('/'))).masked().ip())))",messageExpression="'spec.addresses: range \"' + self + '\" is reversed: its first address is above its last; write it lowest-highest'"
type AddressRange string

// IPAddressPoolSpec is the set of addresses herald may give to LoadBalancer
// Services, and which Services may take them.
//
// +kubebuilder:validation:XValidation:rule="!has(self.avoidBuggyIPs) || !self.avoidBuggyIPs || self.addresses.exists(a, !((isCIDR(a) && cidr(a).ip().family() == 4 && cidr(a).prefixLength() == 32 && int(a.substring(0, a.indexOf('/')).split('.')[3]) in [0, 255]) || (!isCIDR(a) && a.contains('-') && isIP(a.substring(0, a.indexOf('-')).trim()) && isIP(a.substring(a.indexOf('-') + 1).trim()) && ip(a.substring(0, a.indexOf('-')).trim()).family() == 4 && ip(a.substring(a.indexOf('-') + 1).trim()).family() == 4 && int(a.substring(0, a.indexOf('-')).trim().split('.')[3]) in [0, 255] && int(a.substring(a.indexOf('-') + 1).trim().split('.')[3]) in [0, 255] && (int(a.substring(a.indexOf('-') + 1).trim().split('.')[0]) * 16777216 + int(a.substring(a.indexOf('-') + 1).trim().split('.')[1]) * 65536 + int(a.substring(a.indexOf('-') + 1).trim().split('.')[2]) * 256 + int(a.substring(a.indexOf('-') + 1).trim().split('.')[3]) * 1) - (int(a.substring(0, a.indexOf('-')).trim().split('.')[0]) * 16777216 + int(a.substring(0, a.indexOf('-')).trim().split('.')[1]) * 65536 + int(a.substring(0, a.indexOf('-')).trim().split('.')[2]) * 256 + int(a.substring(0, a.indexOf('-')).trim().split('.')[3]) * 1) <= 1)))",fieldPath=".addresses",message="spec.addresses: with spec.avoidBuggyIPs every address of this pool ends in .0 or .255, so the pool has no usable address; add a larger range or set avoidBuggyIPs to false"
type IPAddressPoolSpec struct {
	// Addresses are the CIDRs and first-last ranges of this pool, IPv4 and
	// IPv6 alike. Each entry is listed once.
	//
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=128
	// +listType=set
	// +required
	Addresses []AddressRange `json:"addresses"`

	// AutoAssign lets herald give addresses of this pool to Services that
	// do not ask for a pool or an address. When false, only Services that
	// name the pool (annotation) or request one of its addresses get one.
	//
	// +kubebuilder:default=true
	// +optional
	AutoAssign *bool `json:"autoAssign,omitempty"`

	// AvoidBuggyIPs keeps herald from handing out IPv4 addresses ending in
	// .0 or .255, which some old client stacks drop.
	//
	// +kubebuilder:default=false
	// +optional
	AvoidBuggyIPs bool `json:"avoidBuggyIPs,omitempty"`

	// ServiceAllocation restricts the pool to some Services and orders it
	// among the pools a Service may take addresses from.
	//
	// +optional
	ServiceAllocation *ServiceAllocation `json:"serviceAllocation,omitempty"`
}

// ServiceAllocation says which Services a pool serves and how early it is
// tried, with MetalLB's meaning: pools whose selectors match a Service are
// tried by priority, a lower number first, and 0 (unset) last.
type ServiceAllocation struct {
	// Priority orders the pools that match a Service: lower first; 0 (the
	// default) means no priority and is tried after every positive one.
	//
	// +kubebuilder:validation:Minimum=0
	// +optional
	Priority int `json:"priority,omitempty"`

	// Namespaces lists the namespaces whose Services may use the pool.
	//
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// NamespaceSelectors select, by label, the namespaces whose Services may
	// use the pool. A namespace matching any selector (or listed in
	// Namespaces) qualifies.
	//
	// +optional
	NamespaceSelectors []metav1.LabelSelector `json:"namespaceSelectors,omitempty"`

	// ServiceSelectors select, by label, the Services that may use the
	// pool. A Service matching any selector qualifies.
	//
	// +optional
	ServiceSelectors []metav1.LabelSelector `json:"serviceSelectors,omitempty"`
}

// IPAddressPoolStatus is what the controller reports about a pool.
//
// Counts are decimal strings, not integers: one IPv6 /64 holds 2^64
// addresses, more than an int64 (or a JSON number read as a float) can carry.
// Use SetCounts to fill them.
type IPAddressPoolStatus struct {
	// AssignedIPv4 is the number of IPv4 addresses of the pool given to
	// Services, in decimal.
	//
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)$`
	// +optional
	AssignedIPv4 string `json:"assignedIPv4,omitempty"`

	// AssignedIPv6 is the number of IPv6 addresses of the pool given to
	// Services, in decimal.
	//
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)$`
	// +optional
	AssignedIPv6 string `json:"assignedIPv6,omitempty"`

	// AvailableIPv4 is the number of IPv4 addresses of the pool still free
	// to give out (after avoidBuggyIPs), in decimal.
	//
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)$`
	// +optional
	AvailableIPv4 string `json:"availableIPv4,omitempty"`

	// AvailableIPv6 is the number of IPv6 addresses of the pool still free
	// to give out, in decimal (up to 2^128).
	//
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)$`
	// +optional
	AvailableIPv6 string `json:"availableIPv6,omitempty"`

	// Assigned summarises the assigned counts for `kubectl get`, e.g.
	// "3 v4, 1 v6" (families the pool lacks are left out).
	//
	// +optional
	Assigned string `json:"assigned,omitempty"`

	// Available summarises the available counts for `kubectl get`, e.g.
	// "61 v4, 18446744073709551615 v6".
	//
	// +optional
	Available string `json:"available,omitempty"`

	// Conditions tell whether the controller uses the pool and, if not,
	// why (e.g. it overlaps another pool).
	//
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// IPAddressPool is a set of addresses herald gives to LoadBalancer Services.
// It lives in herald's own namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=herald
// +kubebuilder:printcolumn:name="Addresses",type=string,JSONPath=`.spec.addresses`
// +kubebuilder:printcolumn:name="Auto Assign",type=boolean,JSONPath=`.spec.autoAssign`
// +kubebuilder:printcolumn:name="Assigned",type=string,JSONPath=`.status.assigned`
// +kubebuilder:printcolumn:name="Available",type=string,JSONPath=`.status.available`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type IPAddressPool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the pool's addresses and who may use them.
	//
	// +required
	Spec IPAddressPoolSpec `json:"spec"`

	// Status is written by the controller.
	//
	// +optional
	Status IPAddressPoolStatus `json:"status,omitempty"`
}

// IPAddressPoolList is a list of IPAddressPools.
//
// +kubebuilder:object:root=true
type IPAddressPoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IPAddressPool `json:"items"`
}
