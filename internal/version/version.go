// Package version holds herald's build version, set at link time with
// -ldflags "-X github.com/heraldlb/herald/internal/version.Version=v1.2.3".
package version

import "runtime/debug"

// Version is the release this binary was built from; "dev" for local builds.
var Version = "dev"

// String returns the version followed by the VCS revision when the build
// recorded one.
func String() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return Version
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return Version + " (" + s.Value[:12] + ")"
		}
	}
	return Version
}
