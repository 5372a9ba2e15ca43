package main

import (
	"os"
	"slices"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/fmam/fmam/configs"
)

// registerCompletions makes the shell complete --preset with the presets
// of the config named by --config (or the embedded one), and --config with
// YAML files. cobra's own 'completion' command writes the scripts.
func registerCompletions(root *cobra.Command) {
	_ = root.RegisterFlagCompletionFunc("config", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
	})
	_ = root.RegisterFlagCompletionFunc("preset", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		file := ""
		if f := cmd.Flag("config"); f != nil {
			file = f.Value.String()
		}
		names, err := presetNames(file)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
}

// presetNames lists the presets of a config file, or of the embedded
// default config when file is "".
func presetNames(file string) ([]string, error) {
	var b []byte
	var err error
	if file == "" {
		b, err = configs.Get(configs.Default)
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	var doc struct {
		Presets map[string]any `yaml:"presets"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	var names []string
	for n := range doc.Presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}
