// Package pageout gives back to the kernel the code pages a process touched only while it
// started. A kube-apiserver maps about 80 MiB of its own executable once its init functions
// and first requests have run, yet an idle one keeps using a fraction of it; the rest stays
// resident, counted against the process, until memory pressure evicts it. Paging it out once
// the process has settled makes an idle virtual cluster cost what it really uses: the pages
// it still needs fault back in from the page cache or the disk.
package pageout

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Executable asks the kernel to reclaim the resident pages of pid's executable file mappings
// that are not writable (its code and read-only data), and reports by how much the process's
// resident set shrank. Another process needs CAP_SYS_NICE; the kernel reclaims only pages of a
// file the caller owns or may write, and silently skips the others.
func Executable(pid int) (freedBytes int64, err error) {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return 0, fmt.Errorf("pageout: finding the executable of process %d: %w", pid, err)
	}
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return 0, fmt.Errorf("pageout: reading the mappings of process %d: %w", pid, err)
	}
	ranges := readOnlyMappingsOf(maps, exe)
	if len(ranges) == 0 {
		return 0, nil
	}
	before, err := residentBytes(pid)
	if err != nil {
		return 0, err
	}
	if err := processMadvise(pid, ranges, unix.MADV_PAGEOUT); err != nil {
		return 0, fmt.Errorf("pageout: process %d (%s): %w", pid, exe, err)
	}
	after, err := residentBytes(pid)
	if err != nil {
		return 0, err
	}
	return max(before-after, 0), nil
}

// addressRange is one mapping, [start, end).
type addressRange struct{ start, end uintptr }

// readOnlyMappingsOf picks, from a /proc/PID/maps listing, the mappings of file that are not
// writable. A writable mapping of the executable is its data segment: its dirty pages are the
// process's own and paging them out would need swap.
func readOnlyMappingsOf(maps []byte, file string) []addressRange {
	var out []addressRange
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// address perms offset dev inode pathname; the pathname may hold spaces.
		fields := strings.SplitN(sc.Text(), " ", 6)
		if len(fields) < 6 || strings.TrimLeft(fields[5], " ") != file || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, addressRange{uintptr(start), uintptr(end)})
	}
	return out
}

func processMadvise(pid int, ranges []addressRange, advice int) error {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(pidfd)
	// struct iovec with the base as a plain number: it is an address in another process.
	type iovec struct{ base, len uintptr }
	iov := make([]iovec, len(ranges))
	for i, r := range ranges {
		iov[i] = iovec{r.start, r.end - r.start}
	}
	_, _, errno := unix.Syscall6(unix.SYS_PROCESS_MADVISE, uintptr(pidfd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)), uintptr(advice), 0, 0)
	if errno != 0 {
		return fmt.Errorf("process_madvise: %w", errno)
	}
	return nil
}

// residentBytes is the process's resident set size.
func residentBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, fmt.Errorf("pageout: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Rss:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("pageout: smaps_rollup of process %d: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("pageout: no Rss in the smaps_rollup of process %d", pid)
}
