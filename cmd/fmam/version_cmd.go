package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/ort"
)

func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print fmam's version, the ONNX Runtime library and its execution providers",
		Example: `  fmam version
  fmam version --ort-lib /opt/ort/libonnxruntime.so.1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "fmam %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			rt, err := a.openRuntime()
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
		},
	}
}
