// Package certs issues, persists and renews the PKI of one virtual cluster: four CAs, the
// serving and client certificates the control plane needs, the service-account key pair, and
// kubeconfigs for the client identities.
package certs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// PKI is a materialised certificate set in Dir with the paths the components need.
type PKI struct {
	// Dir is the absolute directory holding every file of the bundle.
	Dir string

	files map[string][]byte
	opts  Options
}

// Path returns the absolute path of one of the file-name constants.
func (p *PKI) Path(name string) string { return filepath.Join(p.Dir, name) }

// File returns the contents of one of the file-name constants, nil when absent.
func (p *PKI) File(name string) []byte { return bytes.Clone(p.files[name]) }

// Ensure loads the bundle from store (creating any missing part), re-issues the apiserver serving
// cert (and etcd server/peer) when the wanted SANs are not all in the stored cert, renews leaf certs
// close to expiry, keeps CAs and the SA key forever, saves back to the store only if something
// changed, and writes every file into dir (keys 0600). Returns what changed (for logs).
func Ensure(ctx context.Context, store Store, dir string, opts Options) (*PKI, []string, error) {
	// Replicas sharing a store race to create the PKI: the loser starts over with the winner's.
	for attempt := 0; ; attempt++ {
		pki, changes, err := ensureOnce(ctx, store, dir, opts)
		if !errors.Is(err, ErrConflict) || attempt == 10 {
			return pki, changes, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(time.Duration(100*(attempt+1)) * time.Millisecond):
		}
	}
}

func ensureOnce(ctx context.Context, store Store, dir string, opts Options) (*PKI, []string, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve certificate directory: %w", err)
	}
	stored, err := store.Load(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("load certificates: %w", err)
	}
	e := &ensurer{
		files: maps.Clone(stored),
		opts:  opts,
		now:   opts.Now(),
		cas:   map[string]signer{},
	}
	if e.files == nil {
		e.files = map[string][]byte{}
	}
	for _, ca := range authorities {
		if err := e.ensureCA(ca); err != nil {
			return nil, nil, err
		}
	}
	if err := e.ensureSAKey(); err != nil {
		return nil, nil, err
	}
	for _, l := range leaves {
		if err := e.ensureLeaf(l); err != nil {
			return nil, nil, err
		}
	}
	if len(e.changed) > 0 {
		if err := store.Save(ctx, e.files); err != nil {
			return nil, nil, fmt.Errorf("save certificates: %w", err)
		}
	}
	if err := writeFiles(dir, e.files); err != nil {
		return nil, nil, fmt.Errorf("materialise certificates: %w", err)
	}
	return &PKI{Dir: dir, files: e.files, opts: opts}, e.changed, nil
}

type signer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// ensurer carries one Ensure run: the bundle being completed and what it changed.
type ensurer struct {
	files   map[string][]byte
	opts    Options
	now     time.Time
	cas     map[string]signer
	changed []string
}

func (e *ensurer) ensureCA(a authority) error {
	certPEM, haveCert := e.files[a.cert]
	keyPEM, haveKey := e.files[a.key]
	switch {
	case !haveCert && !haveKey:
		key, err := newKey()
		if err != nil {
			return fmt.Errorf("create %s: %w", a.cert, err)
		}
		c, err := newCA(a.cn, key, e.now)
		if err != nil {
			return fmt.Errorf("create %s: %w", a.cert, err)
		}
		if err := e.put(a.cert, a.key, c, key); err != nil {
			return err
		}
		e.cas[a.cert] = signer{c, key}
		e.changed = append(e.changed, "created CA "+a.cert)
		return nil
	case !haveCert || !haveKey:
		// Replacing a CA would invalidate every certificate and kubeconfig handed out so far.
		return fmt.Errorf("stored bundle has only one of %s and %s; restore the other or delete both to start a new CA", a.cert, a.key)
	}
	c, err := parseCert(a.cert, certPEM)
	if err != nil {
		return err
	}
	key, err := parseKey(a.key, keyPEM)
	if err != nil {
		return err
	}
	if !c.IsCA {
		return fmt.Errorf("%s is not a CA certificate", a.cert)
	}
	if !keyMatches(c, key) {
		return fmt.Errorf("%s does not match %s", a.key, a.cert)
	}
	e.cas[a.cert] = signer{c, key}
	return nil
}

func (e *ensurer) ensureSAKey() error {
	var key crypto.Signer
	if keyPEM, ok := e.files[SAKey]; ok {
		parsed, err := parseKey(SAKey, keyPEM)
		if err != nil {
			return err
		}
		switch parsed.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey:
			// RSA: made by vkube before it switched to ECDSA; kept, so tokens stay valid.
			key = parsed
		default:
			return fmt.Errorf("%s is a %T; the apiserver signs tokens with RSA or ECDSA keys", SAKey, parsed)
		}
	} else {
		if _, ok := e.files[SAPub]; ok {
			// A new key would invalidate every service-account token already issued.
			return fmt.Errorf("stored bundle has %s but no %s; restore it or delete both to start a new key", SAPub, SAKey)
		}
		var err error
		if key, err = newSAKey(); err != nil {
			return fmt.Errorf("create %s: %w", SAKey, err)
		}
		data, err := encodeKey(key)
		if err != nil {
			return fmt.Errorf("create %s: %w", SAKey, err)
		}
		e.files[SAKey] = data
		e.changed = append(e.changed, "created "+SAKey)
	}
	pub, err := encodePublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("derive %s: %w", SAPub, err)
	}
	if !bytes.Equal(e.files[SAPub], pub) {
		e.files[SAPub] = pub
		e.changed = append(e.changed, "wrote "+SAPub)
	}
	return nil
}

func (e *ensurer) ensureLeaf(l leaf) error {
	var key crypto.Signer
	if keyPEM, ok := e.files[l.key]; ok {
		var err error
		if key, err = parseKey(l.key, keyPEM); err != nil {
			return err
		}
	}
	var dns []string
	var ips []net.IP
	if l.sans != nil {
		dns, ips = l.sans(e.opts)
	}
	ca := e.cas[l.ca.cert]

	reason := "created"
	if certPEM, ok := e.files[l.cert]; ok {
		c, err := parseCert(l.cert, certPEM)
		if err != nil {
			return err
		}
		reason = e.staleReason(c, key, l.subject, ca, dns, ips)
		if reason == "" {
			return nil
		}
	}

	// Keeping the key means a reader that sees the new cert with the old key file (or the other
	// way round) while the pair is being rewritten still gets a matching pair.
	if key == nil {
		var err error
		if key, err = newKey(); err != nil {
			return fmt.Errorf("issue %s: %w", l.cert, err)
		}
	}
	c, err := signLeaf(l.subject, dns, ips, key, ca.cert, ca.key, e.now, e.opts.Validity)
	if err != nil {
		return fmt.Errorf("issue %s: %w", l.cert, err)
	}
	if err := e.put(l.cert, l.key, c, key); err != nil {
		return err
	}
	e.changed = append(e.changed, l.cert+": "+reason)
	return nil
}

// staleReason says why a stored leaf must be re-issued, or "" when it is still good.
func (e *ensurer) staleReason(c *x509.Certificate, key crypto.Signer, s subject, ca signer, dns []string, ips []net.IP) string {
	switch {
	case key == nil:
		return "re-issued, key was missing"
	case !keyMatches(c, key):
		return "re-issued, key did not match"
	case c.CheckSignatureFrom(ca.cert) != nil:
		return "re-issued, not signed by the current CA"
	case c.Subject.CommonName != s.cn || !sameSet(c.Subject.Organization, s.orgs):
		return "re-issued, subject changed"
	case !slices.Equal(c.ExtKeyUsage, s.usages):
		return "re-issued, key usage changed"
	}
	if missing := missingSANs(dns, ips, c.DNSNames, c.IPAddresses); len(missing) > 0 {
		return "re-issued, missing SANs " + strings.Join(missing, ", ")
	}
	if e.now.Before(c.NotBefore) {
		return "re-issued, not valid before " + c.NotBefore.Format(time.RFC3339)
	}
	if c.NotAfter.Sub(e.now) < e.opts.RenewBefore {
		return "renewed, expires " + c.NotAfter.Format(time.RFC3339)
	}
	return ""
}

// sameSet compares organizations regardless of order: DER sorts the values of a multi-valued RDN.
func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func (e *ensurer) put(certName, keyName string, c *x509.Certificate, key crypto.Signer) error {
	keyPEM, err := encodeKey(key)
	if err != nil {
		return fmt.Errorf("encode %s: %w", keyName, err)
	}
	e.files[certName] = encodeCert(c)
	e.files[keyName] = keyPEM
	return nil
}
