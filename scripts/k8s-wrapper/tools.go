//go:build tools

// Package wrapper exists only so that `go mod tidy` keeps kube-apiserver's dependency graph:
// k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces the k8s.io staging modules
// with ./staging paths), so scripts/install-k8s.sh builds it inside this module instead.
package wrapper

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
