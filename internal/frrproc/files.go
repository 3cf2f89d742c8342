package frrproc

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Folders FRR's Debian build compiles in; `-N name` appends /name to both.
const (
	confRoot = "/etc/frr"
	runRoot  = "/var/run/frr"
)

// defaultDaemons are the daemons an instance runs when Options.Daemons is empty.
var defaultDaemons = []string{"zebra", "bgpd", "bfdd", "staticd"}

// DefaultDaemons returns the daemons an instance runs when Options.Daemons is
// empty: zebra, bgpd, bfdd, staticd.
func DefaultDaemons() []string { return append([]string(nil), defaultDaemons...) }

// knownDaemons are the daemon names frrcommon.sh understands.
var knownDaemons = map[string]bool{
	"zebra": true, "bgpd": true, "ripd": true, "ripngd": true, "ospfd": true, "ospf6d": true,
	"isisd": true, "babeld": true, "pimd": true, "ldpd": true, "nhrpd": true, "eigrpd": true,
	"sharpd": true, "pbrd": true, "staticd": true, "bfdd": true, "fabricd": true, "vrrpd": true,
	"pathd": true,
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$`)

// ConfDir returns /etc/frr/<name>, the folder of the pathspace's config files.
func ConfDir(name string) string { return filepath.Join(confRoot, name) }

// RunDir returns /var/run/frr/<name>, the folder of the pathspace's sockets
// and pid files.
func RunDir(name string) string { return filepath.Join(runRoot, name) }

func validateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("frrproc: Options.Name %q is not a valid FRR pathspace: use 1-40 letters, digits, '-' or '_', starting with a letter or digit", name)
	}
	return nil
}

// daemonsFile renders the pathspace's `daemons` file, read by
// frrcommon.sh when watchfrr starts or restarts a daemon. The TCP vty is
// disabled (-P 0): vtysh talks to the unix sockets, and nothing listens on
// 2601-2617 in the namespace.
func daemonsFile(name string, daemons []string) string {
	var b strings.Builder
	b.WriteString("# written by herald's frrproc for pathspace " + name + "\n")
	for _, d := range daemons {
		if d == "zebra" || d == "staticd" {
			continue // frrcommon.sh always starts these two
		}
		fmt.Fprintf(&b, "%s=yes\n", d)
	}
	b.WriteString("vtysh_enable=yes\n")
	fmt.Fprintf(&b, "frr_global_options=\"--log file:%s\"\n", filepath.Join(RunDir(name), "frr.log"))
	for _, d := range daemons {
		opts := "-P 0"
		if d == "zebra" {
			opts += " -s 90000000"
		}
		fmt.Fprintf(&b, "%s_options=\"%s\"\n", d, opts)
	}
	return b.String()
}

// vtyshConf makes vtysh read and write the one integrated frr.conf.
const vtyshConf = "service integrated-vtysh-config\n"

// defaultConfig is the frr.conf an instance starts with when Options.Config
// is empty.
func defaultConfig(name string) string {
	return "frr defaults traditional\nhostname " + name + "\nlog file " +
		filepath.Join(RunDir(name), "frr.log") + " informational\nservice integrated-vtysh-config\n!\n"
}
