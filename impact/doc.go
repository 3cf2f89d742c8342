// Package impact says what a change to herald's objects or to Services
// would do, before it is made: per node the frr.conf lines that change, per
// BGP peer the prefixes added and withdrawn, the Layer 2 IPs that move to
// another node, and the Services whose IPs or announcements change.
//
// It is pure: it takes two planner snapshots (the cluster now, and the
// cluster with the change overlaid) and runs on both the code the
// controller and the speakers run — the allocator (ipam, through
// controllers.IPAMService) to predict the IPs the controller would give,
// speaker/planner for what each node announces, frrconfig.Render for the
// file each node's FRR would run, and speaker/l2/owner for which node
// answers for an L2 IP. kubectl herald diff -f and the admission webhook
// (package admission) both call Compute.
package impact
