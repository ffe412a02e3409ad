// Package e2e tests the node agent on the real embedded sandbox (sandbox/sandboxtest): pod phases and
// restarts as the Job controller sees them, logs through the apiserver, and host isolation.
package e2e
