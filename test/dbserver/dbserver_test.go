package dbserver

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPostgres(t *testing.T) {
	s := StartPostgres(t)
	checkFields(t, s, KindPostgres)
	if want := "postgres://vkube:" + s.Password() + "@127.0.0.1:" + strconv.Itoa(s.Port) + "/?sslmode=disable"; s.DSN() != want {
		t.Fatalf("DSN() = %q, want %q", s.DSN(), want)
	}
	// The DSN names no database: the vkube user creates its own, like the product does.
	sqlExec(t, "pgx", s.DSNFor("postgres"), "CREATE DATABASE vkube_dbserver_test")
	sqlExec(t, "pgx", s.DSNFor("vkube_dbserver_test"),
		"CREATE TABLE kv (k text PRIMARY KEY, v text)",
		"INSERT INTO kv VALUES ('hello', 'world')")
	checkDatabases(t, s, "postgres", "vkube_dbserver_test")

	outage(t, s)
	if got := sqlValue(t, "pgx", s.DSNFor("vkube_dbserver_test"), "SELECT v FROM kv WHERE k = 'hello'"); got != "world" {
		t.Fatalf("after restart: got %q, want world", got)
	}
}

func TestMariaDB(t *testing.T) {
	s := StartMariaDB(t)
	checkFields(t, s, KindMariaDB)
	if want := "mysql://vkube:" + s.Password() + "@tcp(127.0.0.1:" + strconv.Itoa(s.Port) + ")/"; s.DSN() != want {
		t.Fatalf("DSN() = %q, want %q", s.DSN(), want)
	}
	sqlExec(t, "mysql", mysqlDriverDSN(s.DSN()), "CREATE DATABASE vkube_dbserver_test")
	sqlExec(t, "mysql", mysqlDriverDSN(s.DSNFor("vkube_dbserver_test")),
		"CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY, v TEXT)",
		"INSERT INTO kv VALUES ('hello', 'world')")
	checkDatabases(t, s, "mysql", "vkube_dbserver_test")

	outage(t, s)
	if got := sqlValue(t, "mysql", mysqlDriverDSN(s.DSNFor("vkube_dbserver_test")), "SELECT v FROM kv WHERE k = 'hello'"); got != "world" {
		t.Fatalf("after restart: got %q, want world", got)
	}
}

func TestEtcd(t *testing.T) {
	s := StartEtcd(t)
	checkFields(t, s, KindEtcd)
	if want := "http://127.0.0.1:" + strconv.Itoa(s.Port); s.DSN() != want || s.DSNFor("x") != want {
		t.Fatalf("DSN() = %q, DSNFor = %q, want %q", s.DSN(), s.DSNFor("x"), want)
	}
	var version struct {
		Server string `json:"etcdserver"`
	}
	if err := json.Unmarshal(httpDo(t, http.MethodGet, s.DSN()+"/version", nil), &version); err != nil || version.Server == "" {
		t.Fatalf("/version: %+v %v", version, err)
	}
	t.Logf("etcd server version %s", version.Server)
	b64 := base64.StdEncoding.EncodeToString
	httpDo(t, http.MethodPost, s.DSN()+"/v3/kv/put", map[string]string{"key": b64([]byte("hello")), "value": b64([]byte("world"))})
	if _, err := s.Databases(); err == nil {
		t.Error("Databases() on etcd: no error")
	}

	outage(t, s)
	var rng struct {
		Kvs []struct{ Value string }
	}
	if err := json.Unmarshal(httpDo(t, http.MethodPost, s.DSN()+"/v3/kv/range", map[string]string{"key": b64([]byte("hello"))}), &rng); err != nil {
		t.Fatal(err)
	}
	if len(rng.Kvs) != 1 || rng.Kvs[0].Value != b64([]byte("world")) {
		t.Fatalf("after restart: range hello = %+v, want world", rng.Kvs)
	}
}

// TestListenOn: the *On servers listen on another address of this machine, not on 127.0.0.1, and
// take the vkube user's password from clients that are not loopback (here the address itself),
// as pods of the host cluster reach them at its node IP.
func TestListenOn(t *testing.T) {
	host := nonLoopbackIPv4(t)
	for _, c := range []struct {
		kind  string
		start func(testing.TB, string) *Server
		use   func(t *testing.T, s *Server)
	}{
		{KindPostgres, StartPostgresOn, func(t *testing.T, s *Server) {
			sqlExec(t, "pgx", s.DSNFor("postgres"), "CREATE DATABASE vkube_listen_on")
		}},
		{KindMariaDB, StartMariaDBOn, func(t *testing.T, s *Server) {
			sqlExec(t, "mysql", mysqlDriverDSN(s.DSN()), "CREATE DATABASE vkube_listen_on")
		}},
		{KindEtcd, StartEtcdOn, func(t *testing.T, s *Server) { httpDo(t, http.MethodGet, s.DSN()+"/health", nil) }},
	} {
		t.Run(c.kind, func(t *testing.T) {
			s := c.start(t, host)
			if s.Host != host || !strings.Contains(s.DSN(), net.JoinHostPort(host, strconv.Itoa(s.Port))) {
				t.Fatalf("server on %s: Host %q, DSN %q", host, s.Host, s.DSN())
			}
			c.use(t, s)
			if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), 2*time.Second); err == nil {
				conn.Close()
				t.Errorf("%s on %s also accepts connections on 127.0.0.1", c.kind, host)
			}
		})
	}
	if _, err := LaunchEtcdOn(t, "localhost"); err == nil {
		t.Error("LaunchEtcdOn(localhost): want an error asking for an IPv4 address")
	}
}

// nonLoopbackIPv4 is an IPv4 address of an interface that is up and not loopback.
func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifaces {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	t.Skip("no IPv4 address outside loopback")
	return ""
}

func checkFields(t *testing.T, s *Server, kind string) {
	t.Helper()
	if s.Kind != kind || s.Host != "127.0.0.1" || s.Port <= 0 {
		t.Fatalf("server = {Kind:%q Host:%q Port:%d}", s.Kind, s.Host, s.Port)
	}
	if (kind == KindEtcd) != (s.Password() == "") {
		t.Fatalf("%s password %q", kind, s.Password())
	}
}

func checkDatabases(t *testing.T, s *Server, want ...string) {
	t.Helper()
	dbs, err := s.Databases()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !slices.Contains(dbs, w) {
			t.Fatalf("Databases() = %v, want %s in it", dbs, w)
		}
	}
}

// outage stops the server, checks that it refuses connections, and starts it again.
func outage(t *testing.T, s *Server) {
	t.Helper()
	began := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Since(began)
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections on %s after Stop", s.Kind, addr)
	} else if !strings.Contains(err.Error(), "refused") {
		t.Fatalf("dialing the stopped %s: %v, want connection refused", s.Kind, err)
	}
	began = time.Now()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s stopped in %s, started again in %s", s.Kind, stopped.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if err := s.Start(); err != nil {
		t.Fatalf("second Start: %v", err)
	}
}

func sqlExec(t *testing.T, driver, dsn string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := execSQL(ctx, driver, dsn, stmts...); err != nil {
		t.Fatalf("%v: %v", stmts, err)
	}
}

func sqlValue(t *testing.T, driver, dsn, query string) string {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow(query).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

func httpDo(t *testing.T, method, url string, body any) []byte {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	client := http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %s", method, url, resp.Status, out)
	}
	return out
}
