// Command kubectl-herald is the kubectl plugin: kubectl herald status|why|diff|migrate.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "kubectl herald: not built yet")
	os.Exit(1)
}
