// Package verdict decides, from herald's objects alone, which of several
// conflicting objects is in effect and why each other one is rejected. The
// controller writes the verdicts to the objects' status conditions and
// events; the speakers' planner leaves out the same objects. Nothing here
// reads status or remembers earlier calls, so both reach the same verdict
// whenever they see the same objects, whatever status writes happened.
//
// The rule between conflicting objects is "oldest wins": the object
// created first (creationTimestamp, then name) is the one already in
// effect and keeps effect; the newcomer is the one rejected and reported,
// so a mistaken new object never takes down a live route. It covers
// overlapping IPAddressPools and Community aliases defined twice; the
// planner orders BGPPeers the same way (Older), so a second BGPPeer for a
// session, or a second myASN on a node, loses to the peer already there.
package verdict
