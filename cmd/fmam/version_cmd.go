package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/ort"
)

// versionOptions are the options of 'fmam version'.
type versionOptions struct{ f *factory }

func (o *versionOptions) complete(*cobra.Command, []string) error { return nil }

func (o *versionOptions) validate() error { return nil }

func (o *versionOptions) run(_ context.Context, s streams, _ *slog.Logger) error {
	out := s.Out
	fmt.Fprintf(out, "fmam %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	rt, err := o.f.runtime()
	if err != nil {
		return err
	}
	defer rt.Close()
	fmt.Fprintf(out, "onnxruntime %s (pinned %s)\nlibrary %s\n", rt.Version, ort.PinnedVersion, rt.LibPath)
	fmt.Fprintf(out, "providers %v\n", rt.Providers())
	if err := rt.CUDAStatus(); err != nil {
		fmt.Fprintf(out, "cuda: not usable: %v\n", err)
	}
	return nil
}

func newVersionCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print fmam's version, the ONNX Runtime library and its execution providers",
		Example: `  fmam version
  fmam version --ort-lib /opt/ort/libonnxruntime.so.1`,
		Args: cobra.NoArgs,
		RunE: f.runE(&versionOptions{f: f}),
	}
	f.addOrtLibFlag(cmd.Flags())
	return cmd
}
