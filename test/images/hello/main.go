// Command hello is the test workload of the host cluster. Without arguments it serves HTTP on
// $PORT (default 8080); the other modes stand in for the tools a scratch image lacks:
//
//	hello get URL          print the status and body of URL (exit 1 on error or non-2xx)
//	hello lookup NAME      print the addresses NAME resolves to (exit 1 on error)
//	hello write FILE TEXT  write TEXT to FILE (exit 1 on error)
//	hello whoami           print the user the pod's service account token is, per the cluster's API
//	hello cat FILE         print FILE (a projected token, say)
//	hello dig NET TYPE NAME  ask the pod's nameserver over udp or tcp: the rcode, then each answer
//	hello dnsbench NET NAME N  ask it N A questions from 8 workers: "qps Q errors E"
package main

import (
	"fmt"
	"os"
	"strconv"
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
	case mode == "dig" && len(args) == 3:
		err = dig(args[0], args[1], args[2])
	case mode == "dnsbench" && len(args) == 3:
		var n int
		if n, err = strconv.Atoi(args[2]); err == nil {
			err = dnsbench(args[0], args[1], n)
		}
	case mode == "cat" && len(args) == 1:
		var b []byte
		if b, err = os.ReadFile(args[0]); err == nil {
			_, err = os.Stdout.Write(b)
		}
	case mode == "write" && len(args) == 2:
		err = os.WriteFile(args[0], []byte(args[1]), 0o644)
	default:
		err = fmt.Errorf("usage: hello [get URL | lookup NAME | write FILE TEXT | whoami | cat FILE | dig NET TYPE NAME | dnsbench NET NAME N]")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}
