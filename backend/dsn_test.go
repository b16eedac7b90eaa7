package backend

import (
	"strings"
	"testing"
)

func TestParseExternalDSN(t *testing.T) {
	cases := []struct {
		dsn, want, host string
	}{
		{"postgres://u:pw@db:5432/?sslmode=disable", "postgres://u:pw@db:5432/vkube_ns_vc?sslmode=disable", "db:5432"},
		{"postgresql://u:pw@db/mine?sslmode=require", "postgres://u:pw@db/mine?sslmode=require", "db:5432"},
		{"mysql://u:pw@tcp(db:3306)/", "mysql://u:pw@tcp(db:3306)/vkube_ns_vc", "db:3306"},
		{"mariadb://u:pw@tcp(db)/mine", "mysql://u:pw@tcp(db:3306)/mine", "db:3306"},
	}
	for _, tc := range cases {
		d, err := parseExternalDSN(tc.dsn, "vkube_ns_vc")
		if err != nil {
			t.Fatalf("%s: %v", tc.dsn, err)
		}
		if d.endpoint != tc.want {
			t.Errorf("%s: endpoint %q, want %q", tc.dsn, d.endpoint, tc.want)
		}
		if got := hostWithPort(d.info); got != tc.host {
			t.Errorf("%s: dial %q, want %q", tc.dsn, got, tc.host)
		}
		if d.password != "pw" {
			t.Errorf("%s: password %q", tc.dsn, d.password)
		}
	}
}

func TestParseExternalDSNErrorsHidePassword(t *testing.T) {
	for _, dsn := range []string{"u:s3cret@db:5432/x", "postgres://u:s3cret@/x", "mysql://u:s3cret@tcp()/x", "mysql://u:s3cret@db:3306/x", "ftp://u:s3cret@db/x"} {
		_, err := parseExternalDSN(dsn, "db")
		if err == nil {
			t.Errorf("%s: accepted", dsn)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error shows the password: %v", dsn, err)
		}
	}
}

func TestDatabaseName(t *testing.T) {
	if got := DatabaseName("team-a", "dev"); got != "vkube_team_a_dev" {
		t.Errorf("got %q", got)
	}
	if got := DatabaseName("", "dev"); got != "vkube_dev" {
		t.Errorf("got %q", got)
	}
	long := DatabaseName(strings.Repeat("n", 63), strings.Repeat("v", 52))
	if len(long) != 63 || long == DatabaseName(strings.Repeat("n", 63), strings.Repeat("v", 51)) {
		t.Errorf("long name %q (%d)", long, len(long))
	}
}
