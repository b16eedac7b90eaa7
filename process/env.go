package process

import (
	"net/url"
	"strings"
)

// A child gets only the part of vkube's environment it needs to run, never the rest: vkube's
// own environment holds what must not leak, VKUBE_DATASTORE_ENDPOINT (a DSN with its password)
// above all, and whatever else the user who started vkube had exported (cloud credentials, a
// K3S_DATASTORE_ENDPOINT that k3s would obey). A child's environment is readable by every
// process of the same user in /proc/<pid>/environ: what a child must know, vkube passes as a
// flag or in a file it writes 0600.
//
// Passed on when vkube has them:
//   - PATH, HOME, USER, LOGNAME, SHELL, TMPDIR, TZ: how any program finds binaries, temp space
//     and local time;
//   - LANG, LANGUAGE and LC_*: the locale of messages;
//   - GOGC, GOMEMLIMIT, GOMAXPROCS, GODEBUG, GOTRACEBACK: the Go runtime's knobs (the driver's
//     own GOGC and the distro config's env still win, they come after);
//   - SSL_CERT_FILE, SSL_CERT_DIR: where Go finds the system roots the API server verifies OIDC
//     issuers and webhooks with;
//   - HTTP_PROXY, HTTPS_PROXY, NO_PROXY (either case): how the API server reaches webhooks and
//     OIDC issuers, unless the proxy URL carries a user name or password (dropped: a credential).
//
// Everything a distro config's `env` names is set as written: the host admin chose it.
var inheritedEnv = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "SHELL": true, "TMPDIR": true, "TZ": true,
	"LANG": true, "LANGUAGE": true,
	"GOGC": true, "GOMEMLIMIT": true, "GOMAXPROCS": true, "GODEBUG": true, "GOTRACEBACK": true,
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
}

var proxyEnv = map[string]bool{
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true,
}

// ChildEnv is the environment of a child: the allow-listed part of parent (KEY=VALUE entries,
// as os.Environ returns them) followed by extra, which wins over an inherited value of the same
// name (exec keeps the last of duplicates).
func ChildEnv(parent, extra []string) []string {
	out := make([]string, 0, len(extra)+8)
	for _, kv := range parent {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !inherited(name, value) {
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

func inherited(name, value string) bool {
	switch {
	case inheritedEnv[name], strings.HasPrefix(name, "LC_"):
		return true
	case proxyEnv[name]:
		return !hasUserInfo(value)
	}
	return false
}

// hasUserInfo reports whether a proxy URL carries a user name or password; one that does not
// parse is treated as if it did, since nothing tells where its credential would be.
func hasUserInfo(proxy string) bool {
	if proxy == "" || !strings.Contains(proxy, "@") {
		return false
	}
	s := proxy
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	return err != nil || u.User != nil
}
