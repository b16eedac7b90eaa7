// Command hello is the test workload of the host cluster. Without arguments it serves HTTP on
// $PORT (default 8080); the other modes stand in for the tools a scratch image lacks:
//
//	hello get URL          print the status and body of URL (exit 1 on error or non-2xx)
//	hello lookup NAME      print the addresses NAME resolves to (exit 1 on error)
//	hello write FILE TEXT  write TEXT to FILE (exit 1 on error)
//	hello whoami           print the user the pod's service account token is, per the cluster's API
//	hello cat FILE         print FILE (a projected token, say)
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		serve()
		return
	}
	var err error
	switch mode, args := os.Args[1], os.Args[2:]; {
	case mode == "get" && len(args) == 1:
		err = get(args[0])
	case mode == "lookup" && len(args) == 1:
		err = lookup(args[0])
	case mode == "whoami" && len(args) == 0:
		err = whoami()
	case mode == "cat" && len(args) == 1:
		var b []byte
		if b, err = os.ReadFile(args[0]); err == nil {
			_, err = os.Stdout.Write(b)
		}
	case mode == "write" && len(args) == 2:
		err = os.WriteFile(args[0], []byte(args[1]), 0o644)
	default:
		err = fmt.Errorf("usage: hello [get URL | lookup NAME | write FILE TEXT | whoami | cat FILE]")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}
