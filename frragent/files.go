package frragent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// TempDir is the agent's private folder (0700) beside configPath: the
// files it has FRR check or load (the candidate config, frr-reload.py's
// copy of it, frr-reload.py's command files) and the next frr.conf before
// it is renamed into place. They hold passwords: nothing else may read
// them. New removes what a killed agent left there and Close removes the
// folder.
func TempDir(configPath string) string {
	return filepath.Join(filepath.Dir(configPath), "."+filepath.Base(configPath)+".herald")
}

// legacyTemp are the temporary files agents before TempDir wrote beside
// ConfigPath; a killed one left them behind.
var legacyTemp = []string{".frr-candidate-*.conf", ".frr-check-*.conf", ".frr-restore-*.conf", ".frr-conf-*.tmp"}

// prepareTempDir empties (or makes) the private folder of configPath,
// mode 0700, and removes the legacy temporary files beside configPath.
func prepareTempDir(configPath string) error {
	dir := TempDir(configPath)
	var errs []error
	for _, pattern := range legacyTemp {
		files, _ := filepath.Glob(filepath.Join(filepath.Dir(configPath), pattern))
		for _, f := range files {
			errs = append(errs, os.Remove(f))
		}
	}
	errs = append(errs, os.RemoveAll(dir), os.MkdirAll(dir, 0o700), os.Chmod(dir, 0o700))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("preparing the agent's folder %s: %w", dir, err)
	}
	return nil
}

// Close removes the agent's private folder (TempDir). Call it once the
// agent serves no more.
func (a *Agent) Close() error {
	if err := os.RemoveAll(TempDir(a.configPath)); err != nil {
		return fmt.Errorf("removing the agent's folder: %w", err)
	}
	return nil
}
