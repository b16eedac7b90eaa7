package hostcluster

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// chainPrefixes are the chains kubelet, kube-proxy, kube-router and the CNI plugins create.
var chainPrefixes = []string{"KUBE-", "CNI-"}

// ipFamilies are the iptables front ends; kubelet and kube-proxy set up IPv6 chains too.
var ipFamilies = [][2]string{{"iptables-save", "iptables-restore"}, {"ip6tables-save", "ip6tables-restore"}}

// sweepChains deletes every rule that jumps to a chain with one of prefixes, then those chains,
// in one iptables-restore transaction per family. It touches no other rule.
func sweepChains(ctx context.Context, prefixes []string) error {
	for _, fam := range ipFamilies {
		saved, err := command(ctx, fam[0])
		if err != nil {
			return fmt.Errorf("iptables: %w", err)
		}
		script := sweepScript(saved, prefixes)
		if script == "" {
			continue
		}
		cmd := exec.CommandContext(ctx, fam[1], "--noflush")
		cmd.Stdin = strings.NewReader(script)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("iptables: %s: %w: %s", fam[1], err, strings.TrimSpace(stderr.String()))
		}
	}
	return nil
}

// sweepScript turns iptables-save output into the iptables-restore input that removes the
// prefixed chains: -D for each rule elsewhere that targets them, -F and -X for the chains.
func sweepScript(saved string, prefixes []string) string {
	var out strings.Builder
	var table string
	var deletes, chains []string
	for _, line := range strings.Split(saved, "\n") {
		switch {
		case strings.HasPrefix(line, "*"):
			table, deletes, chains = line, nil, nil
		case strings.HasPrefix(line, ":"):
			if name, _, _ := strings.Cut(line[1:], " "); ours(name, prefixes) {
				chains = append(chains, name)
			}
		case strings.HasPrefix(line, "-A "):
			fields := strings.Fields(line)
			if !ours(fields[1], prefixes) && targetsOurs(fields, prefixes) {
				deletes = append(deletes, "-D"+strings.TrimPrefix(line, "-A"))
			}
		case line == "COMMIT":
			if len(chains) == 0 && len(deletes) == 0 {
				continue
			}
			out.WriteString(table + "\n")
			for _, d := range deletes {
				out.WriteString(d + "\n")
			}
			for _, c := range chains {
				out.WriteString("-F " + c + "\n")
			}
			for _, c := range chains {
				out.WriteString("-X " + c + "\n")
			}
			out.WriteString("COMMIT\n")
		}
	}
	return out.String()
}

func targetsOurs(fields []string, prefixes []string) bool {
	for i := 0; i+1 < len(fields); i++ {
		if (fields[i] == "-j" || fields[i] == "-g") && ours(fields[i+1], prefixes) {
			return true
		}
	}
	return false
}

func ours(chain string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(chain, p) {
			return true
		}
	}
	return false
}

// leftoverChains lists the prefixed chains still present, as "family table chain".
func leftoverChains(ctx context.Context) ([]string, error) {
	var left []string
	for _, fam := range ipFamilies {
		saved, err := command(ctx, fam[0])
		if err != nil {
			return nil, fmt.Errorf("iptables: %w", err)
		}
		var table string
		for _, line := range strings.Split(saved, "\n") {
			if strings.HasPrefix(line, "*") {
				table = line[1:]
			}
			if name, _, _ := strings.Cut(strings.TrimPrefix(line, ":"), " "); strings.HasPrefix(line, ":") && ours(name, chainPrefixes) {
				left = append(left, fam[0][:len(fam[0])-5]+" "+table+" "+name)
			}
		}
	}
	return left, nil
}
