// Package configs embeds the experiment YAML files of this folder so the
// fmam binary carries its default experiment and the paper's setups.
package configs

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// Default is the experiment fmam runs when no --config is given.
const Default = "demo"

// Get returns the YAML of an embedded config by name (without .yaml).
func Get(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no embedded config %q (have: %s)", name, strings.Join(Names(), ", "))
	}
	return b, nil
}

// Names lists the embedded configs.
func Names() []string {
	ents, _ := fs.Glob(files, "*.yaml")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e, ".yaml"))
	}
	sort.Strings(out)
	return out
}
