// Package conformance runs the upstream Kubernetes e2e tests of sig-apps (k8s.io/kubernetes/test/e2e/apps:
// Jobs, CronJobs and TTL-after-finished by default; Deployments, ReplicaSets, StatefulSets and DaemonSets
// with a focus) against klab's sandbox. It is a module of its own so that the main
// module does not require the e2e framework; `make conformance` builds its test binary and runs it.
package conformance

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"k8s.io/component-base/logs"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/test/e2e/framework"
	"k8s.io/kubernetes/test/e2e/framework/config"
	"k8s.io/kubernetes/test/e2e/framework/testfiles"
	e2etestingmanifests "k8s.io/kubernetes/test/e2e/testing-manifests"

	// The tests themselves, and the framework parts the upstream suite links in for them: the failure
	// dumps (debug) and the node helpers (node).
	_ "k8s.io/kubernetes/test/e2e/apps"
	_ "k8s.io/kubernetes/test/e2e/common/node"
	_ "k8s.io/kubernetes/test/e2e/framework/debug/init"
	_ "k8s.io/kubernetes/test/e2e/framework/node/init"
)

// TestMain registers the framework's flags as test/e2e's own TestMain does.
func TestMain(m *testing.M) {
	config.CopyFlags(config.Flags, flag.CommandLine)
	framework.RegisterCommonFlags(flag.CommandLine)
	framework.RegisterClusterFlags(flag.CommandLine)
	flag.Parse()
	if flag.CommandLine.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unknown additional command line arguments: %s\n", flag.CommandLine.Args())
		os.Exit(2)
	}
	framework.AfterReadingAllFlags(&framework.TestContext)
	// The manifests some tests read (the StatefulSet ones deploy test/e2e/testing-manifests/statefulset/…),
	// from the files compiled into the binary, as test/e2e's own TestMain registers them.
	testfiles.AddFileSource(e2etestingmanifests.GetE2ETestingManifestsFS())
	os.Exit(m.Run())
}

// TestConformance runs the selected specs through Ginkgo with the framework's configuration (focus,
// label filter, JUnit report in --report-dir).
func TestConformance(t *testing.T) {
	if framework.TestContext.KubeConfig == "" {
		t.Skip("no --kubeconfig (nor KUBECONFIG): `make conformance` runs this suite against a private sandbox")
	}
	logs.InitLogs()
	defer logs.FlushLogs()
	klog.EnableContextualLogging(true)
	gomega.RegisterFailHandler(framework.Fail)
	suiteConfig, reporterConfig := framework.CreateGinkgoConfig()
	ginkgo.RunSpecs(t, "klab sandbox: upstream e2e (sig-apps)", suiteConfig, reporterConfig)
}
