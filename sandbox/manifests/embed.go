// Package manifests holds the Kubernetes objects the sandbox applies.
package manifests

import _ "embed"

// Demo is the demo application: namespaces, Deployments and Services.
//
//go:embed demo.yaml
var Demo []byte

// PortForwardCRD lets the sandbox configure KWOK's port-forward per agent pod.
//
//go:embed portforward-crd.yaml
var PortForwardCRD []byte
