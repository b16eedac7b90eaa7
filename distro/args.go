package distro

import "strings"

// flagArgs renders ordered --name=value flags.
type flagArgs struct {
	order  []string
	values map[string]string
}

func newFlags() *flagArgs { return &flagArgs{values: map[string]string{}} }

func (f *flagArgs) set(name, value string) *flagArgs {
	if _, ok := f.values[name]; !ok {
		f.order = append(f.order, name)
	}
	f.values[name] = value
	return f
}

// withExtra applies user extraArgs: a flag vkube also sets is replaced in place (so the user's
// value wins without a duplicate flag), anything else is appended verbatim.
func (f *flagArgs) withExtra(extra []string) []string {
	var appended []string
	for _, a := range extra {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if _, ok := f.values[name]; ok && strings.HasPrefix(a, "--") && hasValue {
			f.values[name] = value
			continue
		}
		appended = append(appended, a)
	}
	out := make([]string, 0, len(f.order)+len(appended))
	for _, n := range f.order {
		out = append(out, "--"+n+"="+f.values[n])
	}
	return append(out, appended...)
}

// commandOrDefault applies a full command override: command[0] becomes the binary, the rest its
// arguments; extraArgs still follow.
func commandOrDefault(path string, args []string, command, extra []string) (string, []string) {
	if len(command) == 0 {
		return path, args
	}
	return command[0], append(append([]string{}, command[1:]...), extra...)
}
