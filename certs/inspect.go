package certs

import (
	"slices"
	"strings"
	"time"
)

// Info is one certificate of a bundle, as `vkube certs check` shows it.
type Info struct {
	File        string    `json:"file"`
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	CA          bool      `json:"ca"`
	NotBefore   time.Time `json:"notBefore"`
	NotAfter    time.Time `json:"notAfter"`
	DNSNames    []string  `json:"dnsNames,omitempty"`
	IPAddresses []string  `json:"ipAddresses,omitempty"`
}

// Inspect describes every certificate of a bundle (the files of a PKI directory or Secret): the
// authorities first, then the leaves, each in file-name order. A file that does not parse is an
// error naming it.
func Inspect(files map[string][]byte) ([]Info, error) {
	var out []Info
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for name := range files {
			if strings.HasSuffix(name, ".crt") && !yield(name) {
				return
			}
		}
	}) {
		c, err := parseCert(name, files[name])
		if err != nil {
			return nil, err
		}
		info := Info{File: name, Subject: c.Subject.String(), Issuer: c.Issuer.String(), CA: c.IsCA,
			NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), DNSNames: c.DNSNames}
		for _, ip := range c.IPAddresses {
			info.IPAddresses = append(info.IPAddresses, ip.String())
		}
		out = append(out, info)
	}
	slices.SortStableFunc(out, func(a, b Info) int {
		switch {
		case a.CA == b.CA:
			return 0
		case a.CA:
			return -1
		}
		return 1
	})
	return out, nil
}
