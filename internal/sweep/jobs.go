package sweep

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/atomicfile"
)

// Resources are what each array task asks the scheduler for; the sweep
// file's slurm: section sets them, flags override.
type Resources struct {
	CPUs      int    `yaml:"cpus" json:"cpus,omitempty"`
	GPUs      int    `yaml:"gpus" json:"gpus,omitempty"`
	Mem       string `yaml:"mem" json:"mem,omitempty"`
	Time      string `yaml:"time" json:"time,omitempty"`
	Partition string `yaml:"partition" json:"partition,omitempty"`
	// Parallel caps the tasks running at once (--array=0-N%M); 0: no cap.
	Parallel int `yaml:"parallel" json:"parallel,omitempty"`
}

// JobFiles are the scripts 'fmam sweep slurm' writes.
type JobFiles struct {
	Array, Gather string
	// Logs is the folder of the tasks' logs (%A_%a.out).
	Logs string
}

// SlurmDir is where the Slurm scripts and logs go.
func SlurmDir(dir string) string { return filepath.Join(dir, "slurm") }

// WriteSlurm writes an sbatch array script with one task per unit, each
// running 'fmam sweep run --dir' (the task's unit comes from
// SLURM_ARRAY_TASK_ID), and the gather job to submit after it with
// --dependency=afterok. fmam is the binary the jobs run and workDir the
// folder they run in (relative config paths were resolved already).
func WriteSlurm(p *Plan, n int, r Resources, fmam, workDir string) (JobFiles, error) {
	d := SlurmDir(p.Dir)
	j := JobFiles{Array: filepath.Join(d, "array.sbatch"), Gather: filepath.Join(d, "gather.sbatch"), Logs: filepath.Join(d, "logs")}
	array := fmt.Sprintf("0-%d", n-1)
	if r.Parallel > 0 {
		array += "%" + strconv.Itoa(r.Parallel)
	}
	var b strings.Builder
	header := func(name string, extra ...string) {
		b.WriteString("#!/bin/bash\n")
		fmt.Fprintf(&b, "# Written by 'fmam sweep slurm' for the sweep in %s.\n", p.Dir)
		fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", name)
		for _, e := range extra {
			fmt.Fprintf(&b, "#SBATCH %s\n", e)
		}
	}
	var res []string
	if r.CPUs > 0 {
		res = append(res, fmt.Sprintf("--cpus-per-task=%d", r.CPUs))
	}
	if r.GPUs > 0 {
		res = append(res, fmt.Sprintf("--gpus-per-task=%d", r.GPUs))
	}
	if r.Mem != "" {
		res = append(res, "--mem="+r.Mem)
	}
	if r.Time != "" {
		res = append(res, "--time="+r.Time)
	}
	if r.Partition != "" {
		res = append(res, "--partition="+r.Partition)
	}
	header("fmam-"+p.Name, append([]string{"--array=" + array, "--output=" + filepath.Join(j.Logs, "%A_%a.out")}, res...)...)
	b.WriteString("# Each task runs its unit of the grid (resumable: resubmitting reruns only\n# what is not done); 'fmam sweep status' shows every unit's state.\n")
	b.WriteString("set -euo pipefail\n")
	fmt.Fprintf(&b, "cd %s\n", shellQuote(workDir))
	fmt.Fprintf(&b, "exec %s sweep run --dir %s\n", shellQuote(fmam), shellQuote(p.Dir))
	arr := b.String()
	b.Reset()
	var gres []string
	if r.Partition != "" {
		gres = append(gres, "--partition="+r.Partition)
	}
	header("fmam-"+p.Name+"-gather", append([]string{"--output=" + filepath.Join(j.Logs, "gather_%j.out"), "--kill-on-invalid-dep=yes", "--time=00:30:00"}, gres...)...)
	b.WriteString("set -euo pipefail\n")
	fmt.Fprintf(&b, "cd %s\n", shellQuote(workDir))
	fmt.Fprintf(&b, "exec %s sweep gather --dir %s\n", shellQuote(fmam), shellQuote(p.Dir))
	// Slurm does not create the folder of --output.
	if err := os.MkdirAll(j.Logs, 0o755); err != nil {
		return j, err
	}
	if err := atomicfile.Write(j.Array, []byte(arr)); err != nil {
		return j, err
	}
	if err := atomicfile.Write(j.Gather, []byte(b.String())); err != nil {
		return j, err
	}
	return j, nil
}

// SlurmCommands are the commands that submit the job files.
func SlurmCommands(j JobFiles) []string {
	return []string{
		"jid=$(sbatch --parsable " + shellQuote(j.Array) + ")",
		"sbatch --dependency=afterok:${jid%%;*} " + shellQuote(j.Gather),
	}
}

// K8s are the settings of the Indexed Job manifest.
type K8s struct {
	Image       string
	Parallelism int
	// Claim is the PersistentVolumeClaim holding the sweep folder (and the
	// data), mounted at Mount, which must be the sweep folder's parent
	// path as the plan records it.
	Claim, Mount string
	CPUs, GPUs   int
	Mem          string
}

// WriteK8s writes an Indexed Job manifest: completions = units, each pod
// runs 'fmam sweep run --dir' with its JOB_COMPLETION_INDEX as the shard.
// Untested here: no cluster is reachable from this repository's CI.
func WriteK8s(p *Plan, n int, k K8s) (string, error) {
	par := k.Parallelism
	if par < 1 || par > n {
		par = n
	}
	res := ""
	if k.CPUs > 0 || k.GPUs > 0 || k.Mem != "" {
		res = "          resources:\n            limits:\n"
		if k.CPUs > 0 {
			res += fmt.Sprintf("              cpu: %q\n", strconv.Itoa(k.CPUs))
		}
		if k.Mem != "" {
			res += fmt.Sprintf("              memory: %q\n", k.Mem)
		}
		if k.GPUs > 0 {
			res += fmt.Sprintf("              nvidia.com/gpu: %d\n", k.GPUs)
		}
	}
	name := strings.ToLower(baseName(p.Name))
	y := fmt.Sprintf(`# Written by 'fmam sweep k8s': an Indexed Job running the sweep in %[1]s,
# one pod per unit. The image must hold fmam and ONNX Runtime; the claim
# %[6]s must hold the sweep folder at %[7]s (ReadWriteMany, with working
# flock for the shared teachers: see the README). Untested: no cluster was
# reachable where it was written.
apiVersion: batch/v1
kind: Job
metadata:
  name: fmam-%[2]s
spec:
  completionMode: Indexed
  completions: %[3]d
  parallelism: %[4]d
  backoffLimitPerIndex: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: fmam
          image: %[5]s
          command: ["fmam", "sweep", "run", "--dir", %[1]q]
          env:
            - name: FMAM_SHARD_COUNT
              value: "%[3]d"
%[8]s          volumeMounts:
            - name: sweep
              mountPath: %[7]s
      volumes:
        - name: sweep
          persistentVolumeClaim:
            claimName: %[6]s
`, p.Dir, name, n, par, k.Image, k.Claim, k.Mount, res)
	path := filepath.Join(p.Dir, "k8s", "job.yaml")
	return path, atomicfile.Write(path, []byte(y))
}

// baseName makes a sweep name fit a Kubernetes object name.
func baseName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:,@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
