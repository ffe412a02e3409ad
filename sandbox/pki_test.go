package sandbox

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPKI(t *testing.T) {
	p := pki{dir: filepath.Join(t.TempDir(), "pki")}
	if err := p.ensure(); err != nil {
		t.Fatal(err)
	}
	ca := readCert(t, p.crt(caName))
	kca := readCert(t, p.crt(kubeletClientCAName))
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	kroots := x509.NewCertPool()
	kroots.AddCert(kca)

	api := readCert(t, p.crt(apiserverName))
	for _, name := range []string{"localhost", "kubernetes", "kubernetes.default.svc", "127.0.0.1"} {
		if _, err := api.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("apiserver cert for %s: %v", name, err)
		}
	}
	admin := readCert(t, p.crt(adminName))
	if len(admin.Subject.Organization) != 1 || admin.Subject.Organization[0] != "system:masters" {
		t.Errorf("admin O = %v, want system:masters", admin.Subject.Organization)
	}
	if _, err := admin.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("admin cert: %v", err)
	}
	agent := readCert(t, p.crt(agentServingName))
	if _, err := agent.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: roots}); err != nil {
		t.Errorf("agent serving cert: %v", err)
	}
	// Only the apiserver's kubelet-client cert is signed by the kubelet-client CA.
	kc := readCert(t, p.crt(kubeletClientName))
	if _, err := kc.Verify(x509.VerifyOptions{Roots: kroots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("kubelet client cert: %v", err)
	}
	if _, err := admin.Verify(x509.VerifyOptions{Roots: kroots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the admin cert must not be accepted by the agent's client CA")
	}

	entries, err := os.ReadDir(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]string{}
	for _, e := range entries {
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
		b, _ := os.ReadFile(filepath.Join(p.dir, e.Name()))
		before[e.Name()] = string(b)
	}
	// A second ensure reuses everything.
	if err := p.ensure(); err != nil {
		t.Fatal(err)
	}
	for name, content := range before {
		if b, _ := os.ReadFile(filepath.Join(p.dir, name)); string(b) != content {
			t.Errorf("%s changed on the second ensure", name)
		}
	}
	// A lost leaf is re-issued by the same CA.
	if err := os.Remove(p.crt(adminName)); err != nil {
		t.Fatal(err)
	}
	if err := p.ensure(); err != nil {
		t.Fatal(err)
	}
	if _, err := readCert(t, p.crt(adminName)).Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("re-issued admin cert: %v", err)
	}
}

func TestPKIBadFile(t *testing.T) {
	p := pki{dir: t.TempDir()}
	if err := os.WriteFile(p.crt(caName), []byte("not a cert"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.key(caName), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.ensure(); err == nil {
		t.Fatal("ensure accepted a corrupt CA")
	}
}
