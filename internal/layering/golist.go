package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// listed is the part of `go list -json` that Load reads.
type listed struct {
	ImportPath   string
	Module       *struct{ Path string }
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// Load lists the packages of the module that holds the working directory, as
// they build for goos, with their imports of the module's packages. It runs
// the go command found in PATH.
func Load(goos string) ([]Package, error) {
	gomod, err := goCmd("", "env", "GOMOD")
	if err != nil {
		return nil, err
	}
	gomod = strings.TrimSpace(gomod)
	if gomod == "" || gomod == os.DevNull {
		return nil, errors.New("go env GOMOD: not inside a module")
	}
	out, err := goCmd(goos, "-C", filepath.Dir(gomod), "list",
		"-json=ImportPath,Module,Imports,TestImports,XTestImports", "./...")
	if err != nil {
		return nil, err
	}
	return decode(strings.NewReader(out))
}

// decode reads the stream of JSON objects go list prints.
func decode(r io.Reader) ([]Package, error) {
	var pkgs []Package
	dec := json.NewDecoder(r)
	for {
		var l listed
		if err := dec.Decode(&l); err == io.EOF {
			return pkgs, nil
		} else if err != nil {
			return nil, fmt.Errorf("decode go list output: %w", err)
		}
		if l.Module == nil {
			return nil, fmt.Errorf("go list: %s is in no module", l.ImportPath)
		}
		mod := l.Module.Path
		path, ok := rel(mod, l.ImportPath)
		if !ok {
			return nil, fmt.Errorf("go list: %s is outside module %s", l.ImportPath, mod)
		}
		pkgs = append(pkgs, Package{
			Path:        path,
			Imports:     project(mod, l.Imports),
			TestImports: project(mod, slices.Concat(l.TestImports, l.XTestImports)),
		})
	}
}

// project returns the imports of the module's packages, relative to it,
// sorted and without repeats.
func project(mod string, imports []string) []string {
	var ps []string
	for _, imp := range imports {
		if p, ok := rel(mod, imp); ok {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// rel returns path relative to module mod ("." for the module's root
// package), and whether path is in mod.
func rel(mod, path string) (string, bool) {
	if path == mod {
		return ".", true
	}
	p, ok := strings.CutPrefix(path, mod+"/")
	return p, ok
}

// goCmd runs the go command with args, and with GOOS=goos unless goos is
// empty, and returns what it prints.
func goCmd(goos string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	if goos != "" {
		cmd.Env = append(os.Environ(), "GOOS="+goos)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return string(out), nil
}
