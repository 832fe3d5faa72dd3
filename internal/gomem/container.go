package gomem

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ContainerLimit is the memory limit of this process's cgroup (v2 or v1),
// in bytes; 0 when there is none or it cannot be read.
func ContainerLimit() int64 {
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	return containerLimit("/sys/fs/cgroup", cg)
}

// containerLimit reads the limit under the cgroup mount root for the
// process whose /proc/self/cgroup is cgroup. A container often sees its
// own cgroup at the mount's root while /proc/self/cgroup names the host's
// path, so the root is tried after the named path.
func containerLimit(root string, cgroup []byte) int64 {
	var candidates []string
	sc := bufio.NewScanner(bytes.NewReader(cgroup))
	for sc.Scan() {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			candidates = append(candidates,
				filepath.Join(root, parts[2], "memory.max"), filepath.Join(root, "memory.max"))
		case hasController(parts[1], "memory"):
			candidates = append(candidates,
				filepath.Join(root, "memory", parts[2], "memory.limit_in_bytes"), filepath.Join(root, "memory", "memory.limit_in_bytes"))
		}
	}
	for _, path := range candidates {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 {
			// cgroup v1 writes "no limit" as a number near the int64 maximum.
			return 0
		}
		return n
	}
	return 0
}

func hasController(list, name string) bool {
	return slices.Contains(strings.Split(list, ","), name)
}
