package kubeletproxy

import (
	"net/url"
	"testing"
)

func TestHostSubresource(t *testing.T) {
	cases := map[string]string{
		"/containerLogs/team/web-1/app?follow=true&tailLines=10": "/api/v1/namespaces/h/pods/web-1-x-team-x-vc/log?container=app&follow=true&tailLines=10",
		"/exec/team/web-1/app?command=ls&output=1&error=1":       "/api/v1/namespaces/h/pods/web-1-x-team-x-vc/exec?command=ls&container=app&stderr=1&stdout=1",
		"/attach/team/web-1/app?stdin=1":                         "/api/v1/namespaces/h/pods/web-1-x-team-x-vc/attach?container=app&stdin=1",
		"/portForward/team/web-1?port=8080":                      "/api/v1/namespaces/h/pods/web-1-x-team-x-vc/portforward?port=8080",
	}
	for in, want := range cases {
		u, _ := url.Parse(in)
		out, ok := hostSubresource(u, "h", "vc")
		if !ok || out.String() != want {
			t.Errorf("%s → %v (%v), want %s", in, out, ok, want)
		}
	}
	if _, ok := hostSubresource(&url.URL{Path: "/metrics"}, "h", "vc"); ok {
		t.Error("/metrics mapped")
	}
}
