package station

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
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
	"strings"
	"time"

	"imageshare/internal/atomicfile"
	"imageshare/internal/private"
)

// The self-signed certificate's files in the station's folder.
const (
	certName = "station-cert.pem"
	keyName  = "station-key.pem"
)

// certLife is how long a self-signed certificate is made for; one within
// renewBefore of its end is made anew (a new fingerprint).
const (
	certLife    = 825 * 24 * time.Hour
	renewBefore = 30 * 24 * time.Hour
)

// Fingerprint is the SHA-256 of a certificate, in the colon-separated
// upper-case hex that browsers show.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// selfSigned loads the station's self-signed certificate from dir, or
// makes one (reporting made) when there is none or it is about to end.
// It names this machine, localhost and host, and every address of the
// machine's interfaces, so that it is valid however staff reach it.
func selfSigned(dir, name, host string) (cert tls.Certificate, made bool, err error) {
	if dir == "" {
		return cert, false, errors.New("no folder to keep it in")
	}
	certPath, keyPath := filepath.Join(dir, certName), filepath.Join(dir, keyName)
	cert, err = tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil {
		leaf, perr := x509.ParseCertificate(cert.Certificate[0])
		if perr == nil && time.Until(leaf.NotAfter) > renewBefore {
			return cert, false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return cert, false, fmt.Errorf("%s: %w (remove %s and %s to make a new one)", dir, err, certName, keyName)
	}
	if err := private.MkdirAll(dir); err != nil {
		return cert, false, err
	}
	certPEM, keyPEM, err := makeCertificate(name, host, time.Now())
	if err != nil {
		return cert, false, err
	}
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return cert, false, err
	}
	if err := atomicfile.Write(certPath, certPEM, 0o644); err != nil {
		return cert, false, err
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	return cert, true, err
}

// makeCertificate makes a self-signed ECDSA P-256 certificate for a
// station, PEM encoded.
func makeCertificate(name, host string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	hostname, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: strings.TrimSpace("imageshare " + name + " " + hostname), Organization: []string{"imageshare"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLife),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if hostname != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, hostname)
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if ip == nil && host != "" && !strings.EqualFold(host, "localhost") && host != hostname {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, n.IP)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
