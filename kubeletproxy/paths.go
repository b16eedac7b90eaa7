package kubeletproxy

import (
	"net/url"
	"strings"

	"vkube.io/vkube/syncer/translate"
)

// hostSubresource maps a kubelet path of a virtual pod to the host API path of its twin:
// /containerLogs/NS/POD/C → pods/HOSTPOD/log?container=C, /exec|/attach/NS/POD/C →
// pods/HOSTPOD/exec|attach?container=C, /portForward/NS/POD → pods/HOSTPOD/portforward.
func hostSubresource(u *url.URL, hostNS, vcluster string) (*url.URL, bool) {
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 3 {
		return nil, false
	}
	verb, ns, pod := parts[0], parts[1], parts[2]
	container := ""
	if len(parts) > 3 {
		container = parts[len(parts)-1]
	}
	sub := map[string]string{"containerLogs": "log", "exec": "exec", "attach": "attach", "portForward": "portforward", "run": "exec"}[verb]
	if sub == "" {
		return nil, false
	}
	if len(parts) == 5 {
		// /exec/NS/POD/UID/CONTAINER form
		container = parts[4]
	}
	q := u.Query()
	// The kubelet names the streams input/output/error; the API's subresources stdin/stdout/stderr.
	for kubelet, api := range map[string]string{"input": "stdin", "output": "stdout", "error": "stderr"} {
		if vals, ok := q[kubelet]; ok {
			q[api] = vals
			q.Del(kubelet)
		}
	}
	if container != "" {
		q.Set("container", container)
	}
	if verb == "run" {
		q.Del("cmd")
	}
	out := &url.URL{Path: "/api/v1/namespaces/" + hostNS + "/pods/" + translate.HostName(pod, ns, vcluster) + "/" + sub, RawQuery: q.Encode()}
	return out, true
}
