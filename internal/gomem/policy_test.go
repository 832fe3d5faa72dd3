package gomem

import (
	"runtime/debug"
	"testing"

	"github.com/go-logr/logr"
)

func TestDecide(t *testing.T) {
	const mib = 1 << 20
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	cases := []struct {
		name      string
		policy    Policy
		env       map[string]string
		container int64
		want      Settings
	}{
		{"no container, no policy limit", Policy{GCPercent: 50}, nil, 0,
			Settings{GCPercent: 50, GCFrom: "policy", LimitFrom: "none"}},
		{"the container's share", Policy{GCPercent: 50}, nil, 1000 * mib,
			Settings{GCPercent: 50, GCFrom: "policy", Limit: 900 * mib, LimitFrom: "container"}},
		{"the policy's limit, under the container's share", Policy{GCPercent: 50, Limit: 320 * mib}, nil, 512 * mib,
			Settings{GCPercent: 50, GCFrom: "policy", Limit: 320 * mib, LimitFrom: "policy"}},
		{"the container's share, under the policy's limit", Policy{GCPercent: 50, Limit: 950 * mib}, nil, 1000 * mib,
			Settings{GCPercent: 50, GCFrom: "policy", Limit: 900 * mib, LimitFrom: "container"}},
		{"the policy's limit without a container limit", Policy{GCPercent: 50, Limit: 320 * mib}, nil, 0,
			Settings{GCPercent: 50, GCFrom: "policy", Limit: 320 * mib, LimitFrom: "policy"}},
		{"the environment wins", Policy{GCPercent: 50, Limit: 320 * mib}, map[string]string{"GOGC": "80", "GOMEMLIMIT": "1GiB"}, 512 * mib,
			Settings{GCFrom: "GOGC", LimitFrom: "GOMEMLIMIT"}},
		{"no GC target asked for", Policy{}, nil, 0,
			Settings{GCFrom: "go", LimitFrom: "none"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := decide(c.policy, env(c.env), c.container); got != c.want {
				t.Errorf("decide = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestApplySetsTheRuntime(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) })

	// Where this runs in a container, its limit may take part: the limit
	// set is the policy's or a lower one, and what Apply says it set.
	s := Apply(logr.Discard(), Policy{GCPercent: 37, Limit: 300 << 20})
	if got := debug.SetGCPercent(100); got != 37 {
		t.Errorf("GC target %d, want 37", got)
	}
	if got := debug.SetMemoryLimit(-1); got != s.Limit || got <= 0 || got > 300<<20 {
		t.Errorf("memory limit %d, want %d reported and at most %d", got, s.Limit, 300<<20)
	}
}
