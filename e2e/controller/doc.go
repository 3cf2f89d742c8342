// Package controller holds tests of what ships the controller: the
// manifests under config/manager and config/rbac (accepted by a real API
// server) and the Dockerfile's build command. The reconcilers' own
// integration tests live in package controllers.
package controller
