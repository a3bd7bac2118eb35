package layering

import (
	"fmt"
	"slices"
	"strings"
)

// A Package is one package of the module and the project packages it imports,
// all as paths relative to the module.
type Package struct {
	Path        string
	Imports     []string // by its non-test files
	TestImports []string // by its _test.go files, in-package and external
}

// Rules is a set of import rules; a package must keep every rule that covers it.
type Rules struct {
	Allowed   []Allow
	Forbidden []Forbid
}

// An Allow rule lets the packages matching Pkg import only the project
// packages matching Only (none when Only is empty); imports from outside the
// project are not its concern. It covers non-test files.
type Allow struct {
	Pkg  string
	Only []string
}

// A Forbid rule keeps the packages matching From, except those matching
// Except, from importing the project packages matching To. It covers non-test
// files, and test files too when Tests is set.
type Forbid struct {
	From   string
	To     []string
	Except []string
	Tests  bool
}

// An Edge is one import: From imports To.
type Edge struct {
	From, To string
}

// A Violation is an import that breaks a rule.
type Violation struct {
	Edge
	Test bool   // the import is made by a _test.go file
	Rule string // the rule it breaks, in words
}

func (v Violation) String() string {
	by := ""
	if v.Test {
		by = " (in a test)"
	}
	return fmt.Sprintf("%s imports %s%s, but %s", v.From, v.To, by, v.Rule)
}

// Check returns the imports of pkgs that break r, in the order of pkgs, their
// imports and the rules. A package importing itself, as an external test
// does, breaks no rule.
func (r Rules) Check(pkgs []Package) []Violation {
	var vs []Violation
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			vs = r.checkEdge(vs, Edge{p.Path, imp}, false)
		}
		for _, imp := range p.TestImports {
			vs = r.checkEdge(vs, Edge{p.Path, imp}, true)
		}
	}
	return vs
}

// checkEdge appends to vs a violation for every rule e breaks.
func (r Rules) checkEdge(vs []Violation, e Edge, test bool) []Violation {
	if e.From == e.To {
		return vs
	}
	for _, a := range r.Allowed {
		if !test && match(a.Pkg, e.From) && !matchAny(a.Only, e.To) {
			vs = append(vs, Violation{e, test, a.String()})
		}
	}
	for _, f := range r.Forbidden {
		if (!test || f.Tests) && match(f.From, e.From) && !matchAny(f.Except, e.From) && matchAny(f.To, e.To) {
			vs = append(vs, Violation{e, test, f.String()})
		}
	}
	return vs
}

func (a Allow) String() string {
	if len(a.Only) == 0 {
		return a.Pkg + " may import no project package"
	}
	return fmt.Sprintf("%s may import only %s", a.Pkg, strings.Join(a.Only, ", "))
}

func (f Forbid) String() string {
	who := f.From + " must not"
	if f.From == "..." {
		who = "no package may"
	}
	s := fmt.Sprintf("%s import %s", who, strings.Join(f.To, ", "))
	if len(f.Except) > 0 {
		s += " (except " + strings.Join(f.Except, ", ") + ")"
	}
	return s
}

// Excuse splits vs into the violations not in known and those in it, and
// returns the known edges that no longer occur.
func Excuse(vs []Violation, known []Edge) (fresh, excused []Violation, gone []Edge) {
	seen := make(map[Edge]bool)
	for _, v := range vs {
		if slices.Contains(known, v.Edge) {
			excused = append(excused, v)
			seen[v.Edge] = true
		} else {
			fresh = append(fresh, v)
		}
	}
	for _, e := range known {
		if !seen[e] {
			gone = append(gone, e)
		}
	}
	return fresh, excused, gone
}

// match reports whether path matches pattern: "..." matches every path,
// "p/..." matches p and the paths below it, anything else only itself.
func match(pattern, path string) bool {
	if pattern == "..." {
		return true
	}
	if dir, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == dir || strings.HasPrefix(path, dir+"/")
	}
	return path == pattern
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, path) })
}
