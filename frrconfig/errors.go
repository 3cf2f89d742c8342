package frrconfig

import "errors"

// ErrNeedsReload is returned (wrapped) by Diff when the change between two
// configs is not one it turns into vtysh commands; the caller then applies
// the rendered new config as a whole (frr-reload.py --reload).
var ErrNeedsReload = errors.New("change needs a full reload")
