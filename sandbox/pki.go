package sandbox

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// pki holds the paths of every key and certificate of one sandbox. They live
// in <data>/pki, are created on first start and reused on every restart.
type pki struct {
	dir string
}

func (p pki) path(name string) string { return filepath.Join(p.dir, name) }

// Files of the sandbox PKI.
const (
	caName              = "ca"                       // signs the apiserver, admin, agent serving certs
	kubeletClientCAName = "kubelet-client-ca"        // signs only the apiserver's kubelet client cert
	apiserverName       = "apiserver"                // serving cert: 127.0.0.1, localhost, kubernetes…
	adminName           = "admin"                    // client cert, O=system:masters
	kubeletClientName   = "apiserver-kubelet-client" // apiserver → agent log server
	agentServingName    = "agent-serving"            // agent log server, IP SAN 127.0.0.1
	saKeyName           = "sa"                       // service-account signing key pair
)

func (p pki) crt(name string) string { return p.path(name + ".crt") }
func (p pki) key(name string) string { return p.path(name + ".key") }

// ensure creates whatever part of the PKI is missing. Existing files are
// kept, so a restart reuses every certificate and key.
func (p pki) ensure() error {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return fmt.Errorf("create pki dir: %w", err)
	}
	ca, caKey, err := p.ensureCA(caName, "klab-sandbox-ca")
	if err != nil {
		return err
	}
	kca, kcaKey, err := p.ensureCA(kubeletClientCAName, "klab-sandbox-kubelet-client-ca")
	if err != nil {
		return err
	}
	leaves := []struct {
		name   string
		parent *x509.Certificate
		key    crypto.Signer
		tmpl   x509.Certificate
	}{
		{apiserverName, ca, caKey, x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
				"kubernetes.default.svc.cluster.local"},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 96, 0, 1)},
		}},
		{adminName, ca, caKey, x509.Certificate{
			Subject:     pkix.Name{CommonName: "klab-admin", Organization: []string{"system:masters"}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}},
		{kubeletClientName, kca, kcaKey, x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}},
		{agentServingName, ca, caKey, x509.Certificate{
			Subject:     pkix.Name{CommonName: "klab-sandbox"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			DNSNames:    append([]string{"localhost"}, NodeNames(MaxNodes)...),
			IPAddresses: nodeCertIPs(),
		}},
	}
	for _, l := range leaves {
		if exists(p.crt(l.name)) && exists(p.key(l.name)) {
			// Kept, unless a newer klab serves it under names it lacks (a data dir of an older
			// version): a certificate that did not name the node's address would fail every
			// connection to the node.
			if cert, _, err := loadPair(p.crt(l.name), p.key(l.name)); err == nil && namesAll(cert, l.tmpl) {
				continue
			}
		}
		tmpl := l.tmpl
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		if err := p.issue(l.name, &tmpl, l.parent, l.key); err != nil {
			return err
		}
	}
	if !exists(p.key(saKeyName)) || !exists(p.path(saKeyName+".pub")) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return fmt.Errorf("generate service-account key: %w", err)
		}
		if err := writeKey(p.key(saKeyName), key); err != nil {
			return err
		}
		pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return fmt.Errorf("marshal service-account public key: %w", err)
		}
		if err := writePEM(p.path(saKeyName+".pub"), "PUBLIC KEY", pub); err != nil {
			return err
		}
	}
	return nil
}

// ensureCA loads or creates a self-signed CA.
func (p pki) ensureCA(name, cn string) (*x509.Certificate, crypto.Signer, error) {
	if exists(p.crt(name)) && exists(p.key(name)) {
		return loadPair(p.crt(name), p.key(name))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate %s key: %w", name, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create %s certificate: %w", name, err)
	}
	if err := writeKey(p.key(name), key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(p.crt(name), "CERTIFICATE", der); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s certificate: %w", name, err)
	}
	return cert, key, nil
}

// issue creates a leaf key and certificate signed by parent.
func (p pki) issue(name string, tmpl, parent *x509.Certificate, parentKey crypto.Signer) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate %s key: %w", name, err)
	}
	now := time.Now()
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.AddDate(10, 0, 0)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return fmt.Errorf("create %s certificate: %w", name, err)
	}
	if err := writeKey(p.key(name), key); err != nil {
		return err
	}
	return writePEM(p.crt(name), "CERTIFICATE", der)
}

func loadPair(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read certificate: %w", err)
	}
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("%s: no PEM certificate", certFile)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read key: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, fmt.Errorf("%s: no PEM key", keyFile)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	return cert, key, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal key %s: %w", path, err)
	}
	return writePEM(path, "EC PRIVATE KEY", der)
}

// writePEM writes one PEM block atomically with mode 0600.
func writePEM(path, typ string, der []byte) error {
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// writeFileAtomic writes data to path with mode 0600 through a rename, so a
// crash never leaves half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// namesAll reports whether cert carries every DNS name and IP address of tmpl.
func namesAll(cert *x509.Certificate, tmpl x509.Certificate) bool {
	for _, n := range tmpl.DNSNames {
		if !slices.Contains(cert.DNSNames, n) {
			return false
		}
	}
	for _, ip := range tmpl.IPAddresses {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// nodeCertIPs are the addresses the nodes' kubelet API certificate names: loopback and every node's.
func nodeCertIPs() []net.IP {
	ips := []net.IP{net.IPv4(127, 0, 0, 1)}
	for _, ip := range NodeIPs(MaxNodes) {
		ips = append(ips, net.ParseIP(ip))
	}
	return ips
}
