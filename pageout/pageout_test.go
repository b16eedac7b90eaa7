package pageout

import (
	"os"
	"reflect"
	"testing"
)

func TestReadOnlyMappingsOfPicksTheExecutablesCodeAndReadOnlyData(t *testing.T) {
	maps := []byte(`00400000-031b4000 r-xp 00000000 fd:01 123 /cache/kube/v1.34.2/kube-apiserver
031b4000-064ad000 r--p 02db4000 fd:01 123 /cache/kube/v1.34.2/kube-apiserver
064ad000-0659b000 rw-p 060ad000 fd:01 123 /cache/kube/v1.34.2/kube-apiserver
0659b000-085cf000 rw-p 00000000 00:00 0
7ff1329ce000-7ff133000000 rw-p 00000000 00:00 0
7ffd1000-7ffd2000 r--p 00000000 fd:01 9 /usr/lib/other.so
`)
	got := readOnlyMappingsOf(maps, "/cache/kube/v1.34.2/kube-apiserver")
	want := []addressRange{{0x400000, 0x31b4000}, {0x31b4000, 0x64ad000}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
}

func TestReadOnlyMappingsOfAReplacedExecutable(t *testing.T) {
	maps := []byte("00400000-00500000 r-xp 00000000 fd:01 123 /bin/my app (deleted)\n")
	if got := readOnlyMappingsOf(maps, "/bin/my app (deleted)"); len(got) != 1 {
		t.Fatalf("got %v, want the one mapping", got)
	}
}

// The test process pages out its own code, which needs no privilege when the test binary is the
// caller's own file (go test builds it): its resident set shrinks and it goes on running.
func TestExecutablePagesOutTheCallersOwnCode(t *testing.T) {
	freed, err := Executable(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if freed <= 0 {
		t.Fatalf("resident set did not shrink (freed %d bytes)", freed)
	}
	t.Logf("freed %d KiB", freed>>10)
}
