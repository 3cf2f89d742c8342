package mountinfo

import "testing"

func TestUnescape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory"},
		{`/mnt/a\040b`, "/mnt/a b"},
		{`/mnt/tab\011x\134y`, "/mnt/tab\tx\\y"},
		{`/mnt/not\99escape`, `/mnt/not\99escape`},
		{`/mnt/short\04`, `/mnt/short\04`},
	} {
		if got := Unescape(tc.in); got != tc.want {
			t.Errorf("Unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
