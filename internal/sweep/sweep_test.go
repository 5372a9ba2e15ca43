package sweep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readPlan(t *testing.T, grid string) *Plan {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "g.yaml")
	if err := os.WriteFile(p, []byte(grid), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := ReadFile(p, filepath.Join(dir, "sw"), "runs", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestUnitsExpansion(t *testing.T) {
	p := readPlan(t, `grid:
  model.attention.kind: [sca, ca]
  model.taps: [[bottleneck], [encoder, bottleneck]]
  seed: [0, 1]
`)
	us := p.Units(true)
	if len(us) != 8 {
		t.Fatalf("%d units, want 8", len(us))
	}
	if us[0].Name != "kind-sca_taps-bottleneck_seed-0" || us[3].Name != "kind-sca_taps-encoder+bottleneck_seed-1" {
		t.Errorf("names %q, %q", us[0].Name, us[3].Name)
	}
	names, ids := map[string]bool{}, map[string]bool{}
	teachers := map[string]int{}
	for i, u := range us {
		if u.Index != i || names[u.Name] || ids[u.ID] {
			t.Errorf("unit %d: index %d, name %q or id %q repeated", i, u.Index, u.Name, u.ID)
		}
		names[u.Name], ids[u.ID] = true, true
		teachers[u.Teacher.Name]++
	}
	// Attention and taps shape only the student: one teacher per seed.
	if len(teachers) != 2 || teachers["seed-0"] != 4 || teachers["seed-1"] != 4 {
		t.Errorf("teachers %v, want seed-0 and seed-1 shared by 4 units each", teachers)
	}
	// Ids are stable when the grid grows.
	q := readPlan(t, `grid:
  model.attention.kind: [sca, ca, none]
  model.taps: [[bottleneck], [encoder, bottleneck]]
  seed: [0, 1]
`)
	found := false
	for _, u := range q.Units(true) {
		if u.ID == us[0].ID {
			found = u.Name == us[0].Name
		}
	}
	if !found {
		t.Errorf("unit %s lost its id %s when the grid grew", us[0].Name, us[0].ID)
	}
	v, err := Values(us[3].Settings)
	if err != nil {
		t.Fatal(err)
	}
	if taps, ok := v["model.taps"].([]any); !ok || len(taps) != 2 || v["seed"] != 1 {
		t.Errorf("values %#v", v)
	}
	if us[0].Teacher == nil || p.Units(false)[0].Teacher != nil {
		t.Error("shareTeacher not honoured")
	}
}

func TestTeacherKeysSplitTeachers(t *testing.T) {
	p := readPlan(t, "grid:\n  train.lr: [0.001, 0.002]\n  model.w_fea: [1, 2]\n")
	got := map[string]bool{}
	for _, u := range p.Units(true) {
		got[u.Teacher.Name] = true
	}
	if len(got) != 2 || !got["lr-0.001"] || !got["lr-0.002"] {
		t.Errorf("teachers %v: train.lr shapes the teacher, model.w_fea does not", got)
	}
}

func TestPlanRefusals(t *testing.T) {
	dir := t.TempDir()
	for grid, want := range map[string]string{
		"grid:\n  train.seeds: [[0, 1]]\n":  "seed: [0, 1, 2]",
		"grid:\n  seed: [1, 1]\n":           "given twice",
		"grid:\n  seed: 1\n":                "list",
		"gird:\n  seed: [1]\n":              "known keys",
		"grid:\n  model.teacher_run: [x]\n": "set by the sweep",
	} {
		p := filepath.Join(dir, "g.yaml")
		os.WriteFile(p, []byte(grid), 0o644)
		if _, err := ReadFile(p, "", "runs", "", ""); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one mentioning %q", grid, err, want)
		}
	}
	p := readPlan(t, "grid:\n  seed: [1, 2]\n")
	if err := p.Write(); err != nil {
		t.Fatal(err)
	}
	if err := p.Write(); err != nil {
		t.Errorf("same plan again: %v", err)
	}
	q := *p
	q.Axes = append([]Axis(nil), p.Axes...)
	q.Axes[len(q.Axes)-1] = Axis{Key: "seed", Values: []string{"1", "3"}}
	if err := q.Write(); err == nil || !strings.Contains(err.Error(), "holds another sweep") {
		t.Errorf("another plan in the same folder: %v", err)
	}
	l, err := Load(p.Dir)
	if err != nil || len(l.Units(true)) != 2 {
		t.Errorf("Load: %v", err)
	}
}

func TestShards(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		env  map[string]string
		want Shard
		ok   bool
	}{
		{map[string]string{}, All, false},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"}, Shard{3, 4}, true},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_MAX": "13"}, Shard{2, 4}, true},
		{map[string]string{"JOB_COMPLETION_INDEX": "5"}, Shard{5, 8}, true},
		{map[string]string{"JOB_COMPLETION_INDEX": "1", "FMAM_SHARD_COUNT": "2"}, Shard{1, 2}, true},
	}
	for _, c := range cases {
		s, ok, err := ShardFromEnv(env(c.env), 8)
		if err != nil || s != c.want || ok != c.ok {
			t.Errorf("%v: %v %v %v, want %v %v", c.env, s, ok, err, c.want, c.ok)
		}
	}
	if _, _, err := ShardFromEnv(env(map[string]string{"SLURM_ARRAY_TASK_ID": "1"}), 8); err == nil {
		t.Error("SLURM_ARRAY_TASK_ID alone accepted")
	}
	for _, bad := range []string{"2/2", "x/2", "1", "-1/3", "0/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	s, _ := ParseShard("1/3")
	if !s.Owns(4) || s.Owns(3) {
		t.Error("Owns")
	}
}

func TestJobFiles(t *testing.T) {
	p := readPlan(t, "grid:\n  seed: [1, 2, 3]\n")
	j, err := WriteSlurm(p, 3, Resources{CPUs: 4, GPUs: 1, Mem: "8G", Time: "01:00:00", Partition: "gpu", Parallel: 2}, "/opt/fmam", "/work dir")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(j.Array)
	for _, want := range []string{"#SBATCH --array=0-2%2", "--cpus-per-task=4", "--gpus-per-task=1", "--mem=8G", "--time=01:00:00", "--partition=gpu", "logs/%A_%a.out", "cd '/work dir'", "exec /opt/fmam sweep run --dir " + p.Dir} {
		if !strings.Contains(string(b), want) {
			t.Errorf("array script lacks %q:\n%s", want, b)
		}
	}
	g, _ := os.ReadFile(j.Gather)
	if !strings.Contains(string(g), "sweep gather --dir "+p.Dir) {
		t.Errorf("gather script:\n%s", g)
	}
	if cmds := SlurmCommands(j); len(cmds) != 2 || !strings.Contains(cmds[1], "--dependency=afterok:") {
		t.Errorf("commands %q", cmds)
	}
	if _, err := os.Stat(j.Logs); err != nil {
		t.Errorf("no logs folder: %v", err)
	}
	k, err := WriteK8s(p, 3, K8s{Image: "fmam:1", Claim: "runs", Mount: "/runs", GPUs: 1, Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	y, _ := os.ReadFile(k)
	for _, want := range []string{"completionMode: Indexed", "completions: 3", "parallelism: 2", "image: fmam:1", "claimName: runs", `value: "3"`, "nvidia.com/gpu: 1"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("manifest lacks %q:\n%s", want, y)
		}
	}
}
