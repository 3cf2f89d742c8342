// Package reliability holds herald's end-to-end test of issue 15's promise
// on the lab (e2e/lab, DESIGN.md §7): a mistaken edit never takes down a
// live route.
//
// TestBadInput keeps one healthy Service announced through the lab's three
// nodes and applies bad inputs one at a time (the badInputs table: one row
// per case), sampling the router's routes to the Service several times a
// second throughout. Per case it prints whether the API server REJECTED
// the input, herald REPORTED it on an object (condition or Warning event,
// and how long after), or stayed SILENT, and whether the Service kept its
// three next hops. Adding a case is adding a row.
//
// The test needs root, FRR and the test control plane, and a built
// bin/herald (`make build`; $HERALD_BIN overrides it).
package reliability
