package frrconfig

// Withdrawn returns cfg with every prefix removed: the same routers,
// neighbors (sessions, BFD) and profiles, nothing announced, so the peers
// see withdrawals and no session resets. The speaker applies it on
// shutdown, the frr-agent when its speaker is gone.
func Withdrawn(cfg *Config) Config {
	out := *cfg
	out.Routers = make([]Router, len(cfg.Routers))
	for i, r := range cfg.Routers {
		r.IPv4Networks, r.IPv6Networks = nil, nil
		ns := make([]Neighbor, len(r.Neighbors))
		for j, n := range r.Neighbors {
			n.Advertise = nil
			ns[j] = n
		}
		r.Neighbors = ns
		out.Routers[i] = r
	}
	return out
}
