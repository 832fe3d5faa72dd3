package gomem

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/go-logr/logr"
)

// containerShare is the part of the container's memory limit Go's soft
// limit is set to: the rest is for what the limit does not count (the
// binary's mapped code, memory the runtime has not yet returned), so that
// the collector works harder before the kernel kills the process.
const containerShare = 0.9

// SetMemoryLimit sets Go's soft memory limit to 90% of the container's
// memory limit, unless the GOMEMLIMIT environment variable says otherwise
// or there is no container limit. Without a limit Go lets the heap grow to
// GOGC percent beyond what is live, which a container's limit knows nothing
// of. (A server on an object store moves its limit below this: see
// ScanPacer.RSS.)
func SetMemoryLimit(log logr.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if limit := containerCeiling(); limit > 0 {
		debug.SetMemoryLimit(limit)
		log.Info("memory limit set", "GOMEMLIMIT", limit, "from", "container")
	}
}

// containerCeiling is containerShare of the container's memory limit, 0
// when there is none.
func containerCeiling() int64 {
	if c := ContainerLimit(); c > 0 {
		return int64(float64(c) * containerShare)
	}
	return 0
}

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
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// FileRSS is the part of this process's resident memory mapped from files
// (RssFile in /proc/self/status: for a static Go binary, its own code and
// read-only data), in bytes; 0 when it cannot be read.
func FileRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return fileRSS(b)
}

// fileRSS reads RssFile from the text of /proc/<pid>/status.
func fileRSS(status []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "RssFile:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
