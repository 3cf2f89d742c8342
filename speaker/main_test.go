package speaker

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func TestMain(m *testing.M) {
	// client-go's reflectors log through controller-runtime's root logger;
	// the speaker's own logs go to each test's testr.
	ctrllog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}
