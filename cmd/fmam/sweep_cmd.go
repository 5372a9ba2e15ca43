package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/configs"
	"github.com/fmam/fmam/internal/compare"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/sweep"
)

// sweepBase are the options every 'fmam sweep' command shares: the sweep
// file or the sweep folder that records one.
type sweepBase struct {
	f         *factory
	grid, dir string

	plan  *sweep.Plan
	units []sweep.Unit
}

func (o *sweepBase) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.grid, "grid", "", "sweep file (axes: config keys to lists of values; see configs/sweeps/)")
	cmd.Flags().StringVar(&o.dir, "dir", "", "sweep folder (default runs/sweeps/<name>; without --grid, the sweep it records)")
	// The units are runs: --config, --preset, --seed, --device, --threads
	// and --ort-lib mean what they mean for 'fmam run'.
	o.f.addRunFlags(cmd)
}

func (o *sweepBase) validate() error {
	if o.grid == "" && o.dir == "" {
		return fmt.Errorf("give --grid FILE (a new or the same sweep) or --dir DIR (a sweep folder)")
	}
	return nil
}

// resolve reads the plan (from --grid, or the folder's sweep.json) and
// expands its units; record writes the plan into the sweep folder.
func (o *sweepBase) resolve(record bool) error {
	var err error
	if o.grid != "" {
		o.plan, err = sweep.ReadFile(o.grid, o.dir, "runs", o.f.configFile, o.f.preset)
		if err != nil {
			return err
		}
		o.plan.Overrides = o.f.rootOverrides()
	} else if o.plan, err = sweep.Load(o.dir); err != nil {
		return err
	}
	share, err := o.checkConfigs()
	if err != nil {
		return err
	}
	o.units = o.plan.Units(share)
	if record {
		return o.plan.Write()
	}
	return nil
}

// checkConfigs loads every unit's configuration, so that a bad key fails
// before anything runs or is submitted, and reports whether the units
// train their teachers (so shared teacher runs can serve them).
func (o *sweepBase) checkConfigs() (share bool, err error) {
	share = true
	for _, u := range o.plan.Units(false) {
		cfg, err := o.unitConfig(u.Config, u.Preset, u.Settings, nil)
		if err != nil {
			return false, fmt.Errorf("unit %s: %w", u.Name, err)
		}
		if cfg.Model.Teacher != "" || cfg.Model.TeacherRun != "" {
			share = false
		}
	}
	return share, nil
}

// unitConfig loads a configuration as the factory does (file or embedded
// demo, preset, FMAM_* variables), with the plan's overrides, the unit's
// settings and extra on top.
func (o *sweepBase) unitConfig(file, preset string, set []sweep.Setting, extra map[string]any) (*config.Config, error) {
	over, err := sweep.Values(settingsOf(o.plan.Overrides))
	if err != nil {
		return nil, err
	}
	vals, err := sweep.Values(set)
	if err != nil {
		return nil, err
	}
	for k, v := range vals {
		over[k] = v
	}
	for k, v := range extra {
		over[k] = v
	}
	var embedded []byte
	if file == "" {
		if embedded, err = configs.Get(configs.Default); err != nil {
			return nil, err
		}
	}
	return config.Load(file, embedded, preset, over)
}

func settingsOf(m map[string]string) []sweep.Setting {
	var out []sweep.Setting
	for k, v := range m {
		out = append(out, sweep.Setting{Key: k, Value: v})
	}
	return out
}

// rootOverrides are the root flags given, as settings every unit gets.
func (f *factory) rootOverrides() map[string]string {
	out := map[string]string{}
	if f.changed["device"] {
		out["device"] = f.device
	}
	if f.changed["threads"] {
		out["threads"] = fmt.Sprint(f.threads)
	}
	if f.changed["log-level"] {
		out["log_level"] = f.logLevel
	}
	if f.changed["ort-lib"] {
		out["ort_lib"] = f.ortLib
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// sweepRunOptions are the options of 'fmam sweep' and 'fmam sweep run'.
type sweepRunOptions struct {
	sweepBase
	shardFlag string
	shard     sweep.Shard
}

func (o *sweepRunOptions) complete(*cobra.Command, []string) error { return nil }

func (o *sweepRunOptions) validate() (err error) {
	if err := o.sweepBase.validate(); err != nil {
		return err
	}
	if o.shardFlag != "" {
		o.shard, err = sweep.ParseShard(o.shardFlag)
	}
	return err
}

func (o *sweepRunOptions) run(ctx context.Context, s streams, log *slog.Logger) error {
	if err := o.resolve(true); err != nil {
		return err
	}
	if o.shardFlag == "" {
		sh, ok, err := sweep.ShardFromEnv(os.Getenv, len(o.units))
		if err != nil {
			return err
		}
		o.shard = sh
		if ok {
			log.Info("shard from the scheduler", "shard", sh.String())
		}
	}
	if err := sweep.Run(ctx, o.units, o.shard, log, o.runUnit(log)); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "sweep %s: shard %s done\nnext: fmam sweep status --dir %s; fmam sweep gather --dir %s\n", o.plan.Name, o.shard, o.plan.Dir, o.plan.Dir)
	return nil
}

// runUnit trains the unit's shared teacher (once: a process finding it
// trained or in training by another reuses it or waits), then trains and
// evaluates the unit's run folder.
func (o *sweepRunOptions) runUnit(log *slog.Logger) sweep.RunFunc {
	return func(ctx context.Context, u sweep.Unit) (err error) {
		extra := map[string]any{}
		if t := u.Teacher; t != nil {
			cfg, err := o.unitConfig(t.Config, t.Preset, t.Settings, map[string]any{"train.student_steps": 0})
			if err != nil {
				return err
			}
			if err := o.train(ctx, cfg, t.Dir, log.With("teacher", t.Name), false); err != nil {
				return fmt.Errorf("teacher %s: %w", t.Name, err)
			}
			extra["model.teacher_run"] = t.Dir
		}
		cfg, err := o.unitConfig(u.Config, u.Preset, u.Settings, extra)
		if err != nil {
			return err
		}
		return o.train(ctx, cfg, u.Dir, log.With("unit", u.Name), true)
	}
}

func (o *sweepRunOptions) train(ctx context.Context, cfg *config.Config, dir string, log *slog.Logger, eval bool) (err error) {
	lib, err := o.f.library(cfg.OrtLib)
	if err != nil {
		return err
	}
	e, err := experiment.Open(cfg, dir, lib, log, nil)
	if err != nil {
		return err
	}
	defer e.Finish(&err)
	if !eval {
		return e.Train(ctx, experiment.StageTeacher)
	}
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		return err
	}
	_, err = e.Evaluate(ctx)
	return err
}

// sweepPlanOptions are the options of 'fmam sweep plan'.
type sweepPlanOptions struct{ sweepBase }

func (o *sweepPlanOptions) complete(*cobra.Command, []string) error { return nil }

func (o *sweepPlanOptions) run(_ context.Context, s streams, _ *slog.Logger) error {
	if err := o.resolve(true); err != nil {
		return err
	}
	share := map[string]int{}
	for _, u := range o.units {
		if u.Teacher != nil {
			share[u.Teacher.Dir]++
		}
	}
	t := report.Table{Title: fmt.Sprintf("Sweep %s: %d units in %s", o.plan.Name, len(o.units), o.plan.Dir), Columns: []string{"#", "Id", "Unit", "Settings", "Trains"}}
	trained := map[string]bool{}
	for _, u := range o.units {
		var set []string
		for _, st := range u.Settings {
			set = append(set, st.Key+"="+st.Value)
		}
		what := "teacher, student"
		if u.Teacher != nil {
			rel := strings.TrimPrefix(u.Teacher.Dir, o.plan.Dir+"/")
			switch {
			case !trained[u.Teacher.Dir]:
				what = fmt.Sprintf("teacher %s (shared by %d units), student", rel, share[u.Teacher.Dir])
				trained[u.Teacher.Dir] = true
			default:
				what = "student (teacher " + rel + ")"
			}
		}
		t.Rows = append(t.Rows, []report.Cell{report.Str(fmt.Sprint(u.Index)), report.Str(u.ID), report.Str(u.Name), report.Str(strings.Join(set, " ")), report.Str(what)})
	}
	t.Notes = append(t.Notes, fmt.Sprintf("%d teacher runs for %d units; every unit is a run folder under %s/units.", len(share), len(o.units), o.plan.Dir))
	return t.WriteMarkdown(s.Out)
}

// sweepStatusOptions are the options of 'fmam sweep status'.
type sweepStatusOptions struct{ sweepBase }

func (o *sweepStatusOptions) complete(*cobra.Command, []string) error { return nil }

func (o *sweepStatusOptions) run(_ context.Context, s streams, _ *slog.Logger) error {
	if err := o.resolve(false); err != nil {
		return err
	}
	count := map[sweep.State]int{}
	for _, st := range sweep.Status(o.units) {
		count[st.State]++
		line := fmt.Sprintf("%-4d %-8s %-8s %s", st.Unit.Index, st.Unit.ID, st.State, st.Unit.Name)
		if st.Detail != "" {
			line += ": " + strings.SplitN(st.Detail, "\n", 2)[0]
		}
		fmt.Fprintln(s.Out, line)
	}
	fmt.Fprintf(s.Out, "%d units: %d done, %d running, %d failed, %d pending\n", len(o.units), count[sweep.Done], count[sweep.Running], count[sweep.Failed], count[sweep.Pending])
	if count[sweep.Done] == len(o.units) {
		fmt.Fprintln(s.Out, "complete")
	}
	return nil
}

// sweepGatherOptions are the options of 'fmam sweep gather'.
type sweepGatherOptions struct{ sweepBase }

func (o *sweepGatherOptions) complete(*cobra.Command, []string) error { return nil }

func (o *sweepGatherOptions) run(ctx context.Context, s streams, _ *slog.Logger) error {
	if err := o.resolve(false); err != nil {
		return err
	}
	t, err := sweep.Gather(ctx, o.plan, o.units, compare.RunRecords)
	if err != nil {
		return err
	}
	if err := report.WriteSeedTable(o.plan.Dir, sweep.GatherName, t); err != nil {
		return err
	}
	md, err := t.Markdown()
	if err != nil {
		return err
	}
	if err := md.WriteMarkdown(s.Out); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "(%s/%s.{md,csv,json})\n", o.plan.Dir, sweep.GatherName)
	return nil
}

// sweepSlurmOptions are the options of 'fmam sweep slurm'.
type sweepSlurmOptions struct {
	sweepBase
	res    sweep.Resources
	fmam   string
	submit bool
	cmd    *cobra.Command
}

func (o *sweepSlurmOptions) complete(cmd *cobra.Command, _ []string) error {
	o.cmd = cmd
	if o.fmam == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("--fmam: %w", err)
		}
		o.fmam = exe
	}
	return nil
}

func (o *sweepSlurmOptions) run(ctx context.Context, s streams, log *slog.Logger) error {
	if err := o.resolve(true); err != nil {
		return err
	}
	r := o.plan.Slurm // the sweep file's, then the flags given
	fl := o.cmd.Flags()
	if fl.Changed("cpus") {
		r.CPUs = o.res.CPUs
	}
	if fl.Changed("gpus") {
		r.GPUs = o.res.GPUs
	}
	if fl.Changed("mem") {
		r.Mem = o.res.Mem
	}
	if fl.Changed("time") {
		r.Time = o.res.Time
	}
	if fl.Changed("partition") {
		r.Partition = o.res.Partition
	}
	if fl.Changed("parallel") {
		r.Parallel = o.res.Parallel
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	j, err := sweep.WriteSlurm(o.plan, len(o.units), r, o.fmam, wd)
	if err != nil {
		return err
	}
	if !o.submit {
		fmt.Fprintf(s.Out, "# %d units as a Slurm array; submit with:\n", len(o.units))
		for _, c := range sweep.SlurmCommands(j) {
			fmt.Fprintln(s.Out, c)
		}
		return nil
	}
	jid, err := sbatch(ctx, j.Array)
	if err != nil {
		return err
	}
	gid, err := sbatch(ctx, "--dependency=afterok:"+jid, j.Gather)
	if err != nil {
		return err
	}
	log.Info("submitted", "array", jid, "gather", gid, "units", len(o.units))
	fmt.Fprintf(s.Out, "array job %s (%d tasks), gather job %s\nnext: fmam sweep status --dir %s\n", jid, len(o.units), gid, o.plan.Dir)
	return nil
}

// sbatch submits a script and returns the job id.
func sbatch(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "sbatch", append([]string{"--parsable"}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("sbatch %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	return id, nil
}

// sweepK8sOptions are the options of 'fmam sweep k8s'.
type sweepK8sOptions struct {
	sweepBase
	k sweep.K8s
}

func (o *sweepK8sOptions) complete(*cobra.Command, []string) error { return nil }

func (o *sweepK8sOptions) validate() error {
	if o.k.Image == "" || o.k.Claim == "" || o.k.Mount == "" {
		return fmt.Errorf("give --image, --claim and --mount (the pods need fmam, and the sweep folder on a shared volume)")
	}
	return o.sweepBase.validate()
}

func (o *sweepK8sOptions) run(_ context.Context, s streams, _ *slog.Logger) error {
	if err := o.resolve(true); err != nil {
		return err
	}
	p, err := sweep.WriteK8s(o.plan, len(o.units), o.k)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "%s: an Indexed Job of %d completions (untested: no cluster here)\nsubmit: kubectl apply -f %s\n", p, len(o.units), p)
	return nil
}

func newGridSweepCmd(f *factory) *cobra.Command {
	o := &sweepRunOptions{sweepBase: sweepBase{f: f}}
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Run a grid of runs (any config keys, seeds, presets, configs), sharded over processes or a Slurm array",
		Long: `A sweep file's grid (config keys to lists of values) is expanded into
units, each an ordinary run folder under the sweep folder (units/<name>),
trained and evaluated as 'fmam run' would; units that train the same
teacher (they differ only in student keys: model.taps, model.attention,
model.student_init, model.w_fea, train.student_steps, eval) share one
teacher run (teachers/<name>), trained once. Stage folders are locked, so
shards and array tasks on one sweep folder never train a stage twice.

Without a subcommand, 'fmam sweep' runs the units of its shard: --shard
i/n, else the scheduler's (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX),
else all of them.`,
		Example: `  fmam sweep plan --config configs/ped2.yaml --grid configs/sweeps/ped2-compare.yaml
  fmam sweep --config configs/ped2.yaml --grid configs/sweeps/ped2-compare.yaml
  fmam sweep --grid g.yaml --shard 0/2 & fmam sweep --grid g.yaml --shard 1/2
  fmam sweep slurm --grid g.yaml --cpus 4 --gpus 1 --time 04:00:00 --submit
  fmam sweep status --dir runs/sweeps/g
  fmam sweep gather --dir runs/sweeps/g`,
		Args: cobra.NoArgs,
		RunE: f.runE(o),
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&o.shardFlag, "shard", "", "run only units i, i+n, ... (i/n; default from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)")

	ro := &sweepRunOptions{sweepBase: sweepBase{f: f}}
	run := &cobra.Command{Use: "run", Short: "Run the units of this shard (what 'fmam sweep' does)", Args: cobra.NoArgs, RunE: f.runE(ro)}
	ro.addFlags(run)
	run.Flags().StringVar(&ro.shardFlag, "shard", "", "run only units i, i+n, ... (i/n)")

	po := &sweepPlanOptions{sweepBase{f: f}}
	plan := &cobra.Command{Use: "plan", Short: "List the units and what each would train", Args: cobra.NoArgs, RunE: f.runE(po)}
	po.addFlags(plan)

	so := &sweepStatusOptions{sweepBase{f: f}}
	status := &cobra.Command{Use: "status", Short: "Show done, running, failed and pending units from the folders and locks", Args: cobra.NoArgs, RunE: f.runE(so)}
	so.addFlags(status)

	gho := &sweepGatherOptions{sweepBase{f: f}}
	gather := &cobra.Command{Use: "gather", Short: "One table over the grid: axes as columns, mean ± std over seeds, Δ against each teacher (.md, .csv, .json)", Args: cobra.NoArgs, RunE: f.runE(gho)}
	gho.addFlags(gather)

	sl := &sweepSlurmOptions{sweepBase: sweepBase{f: f}}
	slurm := &cobra.Command{
		Use:   "slurm",
		Short: "Write an sbatch array script (one task per unit) and a gather job depending on it",
		Long: `Write <sweep>/slurm/array.sbatch (--array=0-N-1, %M with --parallel; logs in
<sweep>/slurm/logs/%A_%a.out) and gather.sbatch, and print the sbatch
commands (--submit runs them). Resources come from the sweep file's slurm:
section, then the flags.`,
		Args: cobra.NoArgs, RunE: f.runE(sl),
	}
	sl.addFlags(slurm)
	slurm.Flags().IntVar(&sl.res.CPUs, "cpus", 0, "CPUs per task (--cpus-per-task)")
	slurm.Flags().IntVar(&sl.res.GPUs, "gpus", 0, "GPUs per task (--gpus-per-task)")
	slurm.Flags().StringVar(&sl.res.Mem, "mem", "", "memory per task, e.g. 16G")
	slurm.Flags().StringVar(&sl.res.Time, "time", "", "time limit per task, e.g. 04:00:00")
	slurm.Flags().StringVar(&sl.res.Partition, "partition", "", "Slurm partition")
	slurm.Flags().IntVar(&sl.res.Parallel, "parallel", 0, "at most this many tasks at once (%M; 0: no cap)")
	slurm.Flags().StringVar(&sl.fmam, "fmam", "", "the fmam binary the jobs run (default: this one)")
	slurm.Flags().BoolVar(&sl.submit, "submit", false, "submit both jobs with sbatch")

	ko := &sweepK8sOptions{sweepBase: sweepBase{f: f}}
	k8s := &cobra.Command{Use: "k8s", Short: "Write a Kubernetes Indexed Job manifest (one pod per unit; untested)", Args: cobra.NoArgs, RunE: f.runE(ko)}
	ko.addFlags(k8s)
	k8s.Flags().StringVar(&ko.k.Image, "image", "", "container image holding fmam and ONNX Runtime")
	k8s.Flags().StringVar(&ko.k.Claim, "claim", "", "PersistentVolumeClaim holding the sweep folder")
	k8s.Flags().StringVar(&ko.k.Mount, "mount", "", "where the claim is mounted (the sweep folder's path must lie under it)")
	k8s.Flags().IntVar(&ko.k.Parallelism, "parallelism", 0, "pods at once (default: all)")
	k8s.Flags().IntVar(&ko.k.CPUs, "cpus", 0, "CPU limit per pod")
	k8s.Flags().IntVar(&ko.k.GPUs, "gpus", 0, "GPUs per pod (nvidia.com/gpu)")
	k8s.Flags().StringVar(&ko.k.Mem, "mem", "", "memory limit per pod, e.g. 16Gi")

	cmd.AddCommand(run, plan, status, gather, slurm, k8s)
	return cmd
}
