package gomem

import (
	"os"
	"path/filepath"
	"testing"
)

func TestContainerLimit(t *testing.T) {
	write := func(t *testing.T, root, path, value string) {
		t.Helper()
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		files  map[string]string
		cgroup string
		want   int64
	}{
		{"v2 with a limit", map[string]string{"kubepods/pod1/c1/memory.max": "536870912"}, "0::/kubepods/pod1/c1\n", 512 << 20},
		{"v2 no limit", map[string]string{"memory.max": "max"}, "0::/\n", 0},
		{"v2 in a cgroup namespace", map[string]string{"memory.max": "268435456"}, "0::/\n", 256 << 20},
		{"v2 host path not mounted", map[string]string{"memory.max": "268435456"}, "0::/kubepods/pod1/c1\n", 256 << 20},
		{"v1 with a limit", map[string]string{"memory/docker/abc/memory.limit_in_bytes": "1073741824"},
			"12:pids:/docker/abc\n4:memory:/docker/abc\n1:name=systemd:/docker/abc\n", 1 << 30},
		{"v1 no limit", map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712"}, "4:memory:/\n", 0},
		{"v1 joint controllers", map[string]string{"memory/x/memory.limit_in_bytes": "1048576"}, "5:cpuacct,memory:/x\n", 1 << 20},
		{"no memory controller", map[string]string{"memory.max": "1048576"}, "4:cpu:/\n", 0},
		{"unreadable value", map[string]string{"memory.max": "lots"}, "0::/\n", 0},
		{"nothing mounted", nil, "0::/\n", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for path, v := range c.files {
				write(t, root, path, v)
			}
			if got := containerLimit(root, []byte(c.cgroup)); got != c.want {
				t.Errorf("containerLimit = %d, want %d", got, c.want)
			}
		})
	}
}
