// compose-config loads a Compose file with compose-go, the Compose Specification's reference loader
// (the one `docker compose` itself is built on), and prints the resolved project as JSON, like
// `docker compose config --format json` does, without needing a Docker engine. The file is checked
// against the specification's JSON schema and compose-go's consistency rules (undefined volumes,
// networks, dependencies, ...); variables are interpolated from the environment.
//
//	compose-config [-f docker-compose.yml]
//
// Exit status 1 and the loader's message on stderr when the file is invalid.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	file := flag.String("f", "docker-compose.yml", "the Compose file")
	flag.Parse()
	if err := run(*file); err != nil {
		fmt.Fprintf(os.Stderr, "compose-config: %v\n", err)
		os.Exit(1)
	}
}

func run(file string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	opts, err := cli.NewProjectOptions(
		[]string{abs},
		cli.WithOsEnv,
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithInterpolation(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(false),
	)
	if err != nil {
		return err
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return err
	}
	out, err := project.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(out, '\n'))
	return err
}
