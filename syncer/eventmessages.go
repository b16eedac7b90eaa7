package syncer

import (
	"regexp"
	"strings"
)

// eventWords rewrites the host names in a host event's message into the names the tenant knows
// (`Successfully assigned vc-ns/web-x-default-x-vc to node1` becomes
// `Successfully assigned default/web to node1`): the event's own object by its twin's name, any
// other twin by reading its readable host name back.
type eventWords struct {
	hostNamespace string
	twin          *regexp.Regexp
}

func newEventWords(hostNamespace, vcluster string) eventWords {
	// name-x-namespace-x-vcluster, optionally behind "hostNamespace/".
	twin := regexp.MustCompile(`(` + regexp.QuoteMeta(hostNamespace) + `/)?([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)-x-([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)-x-` + regexp.QuoteMeta(vcluster) + `\b`)
	return eventWords{hostNamespace: hostNamespace, twin: twin}
}

// virtual is msg in virtual names; hostName is the event's object, whose virtual name is
// namespace/name (a hashed long name is known only this way).
func (w eventWords) virtual(msg, hostName, namespace, name string) string {
	msg = strings.ReplaceAll(msg, w.hostNamespace+"/"+hostName, namespace+"/"+name)
	msg = strings.ReplaceAll(msg, hostName, name)
	return w.twin.ReplaceAllStringFunc(msg, func(m string) string {
		parts := w.twin.FindStringSubmatch(m)
		name, namespace := parts[2], parts[3]
		if strings.Contains(name+"-x-"+namespace, "-x--") || strings.Count(name+"-x-"+namespace, "-x-") != 1 {
			return m // not a name vkube made readable: leave it as the host wrote it
		}
		if parts[1] != "" {
			return namespace + "/" + name
		}
		return name
	})
}
