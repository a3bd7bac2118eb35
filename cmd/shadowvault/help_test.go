package main

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// dispatchedVerbs reads the verbs of dispatch's switch in main.go, so that
// a verb added there without help fails TestHelp.
func dispatchedVerbs(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var verbs []string
	ast.Inspect(f, func(n ast.Node) bool {
		if fn, ok := n.(*ast.FuncDecl); ok && fn.Name.Name != "dispatch" {
			return false
		}
		cc, ok := n.(*ast.CaseClause)
		if !ok {
			return true
		}
		for _, e := range cc.List {
			if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				verbs = append(verbs, v)
			}
		}
		return true
	})
	if len(verbs) < 10 {
		t.Fatalf("found only %v in dispatch's switch", verbs)
	}
	return verbs
}

// helpOf runs the binary with args and returns what it printed.
func helpOf(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(binary, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func mentionsFlag(text, name string) bool {
	return regexp.MustCompile(`(^|[\s\[(])--?` + regexp.QuoteMeta(name) + `\b`).MatchString(text)
}

// TestHelp: every verb of the dispatch has a -h that says what it does,
// names the verb, its arguments and every flag its FlagSet defines, each
// with a usage text; the usage of shadowvault names every verb and flag.
func TestHelp(t *testing.T) {
	usage, code := helpOf(t, "help")
	if code != 0 {
		t.Fatalf("help exited %d", code)
	}
	byName := map[string]verb{}
	for _, s := range commandList() {
		for _, v := range s.verbs {
			byName[v.name] = v
		}
	}
	for _, name := range dispatchedVerbs(t) {
		if strings.HasPrefix(name, "-") {
			continue // --version, --help: the same as version, help
		}
		if !regexp.MustCompile(`shadowvault ` + regexp.QuoteMeta(name) + `\b`).MatchString(usage) {
			t.Errorf("the usage does not name the verb %q", name)
		}
		// A verb, or a group of verbs (token create, token list, ...).
		var verbs []verb
		for n, v := range byName {
			if n == name || strings.HasPrefix(n, name+" ") {
				verbs = append(verbs, v)
			}
		}
		if len(verbs) == 0 {
			t.Errorf("verb %q is dispatched but not in commandList (usage.go): it has no help", name)
			continue
		}
		if len(verbs) > 1 || verbs[0].name != name {
			out, code := helpOf(t, name, "-h")
			if code != 0 || !strings.Contains(out, "shadowvault "+name) {
				t.Errorf("%s -h: exit %d:\n%s", name, code, out)
			}
		}
		for _, v := range verbs {
			if name == "help" {
				continue
			}
			if v.flags == nil {
				t.Errorf("verb %q is dispatched but commandList has no flags constructor for it", v.name)
				continue
			}
			checkVerbHelp(t, v, usage)
		}
	}
}

func checkVerbHelp(t *testing.T, v verb, usage string) {
	t.Helper()
	out, code := helpOf(t, append(strings.Fields(v.name), "-h")...)
	if code != 0 {
		t.Errorf("%s -h exited %d", v.name, code)
	}
	if !strings.Contains(out, "usage: shadowvault "+v.name) || !strings.Contains(out, capitalize(v.summary)) {
		t.Errorf("%s -h does not name the verb or say what it does:\n%s", v.name, out)
	}
	for _, arg := range strings.Fields(v.args) {
		if arg = strings.Trim(arg, "[].|"); arg != "" && !strings.Contains(out, arg) {
			t.Errorf("%s -h does not name its argument %s", v.name, arg)
		}
	}
	v.flags().VisitAll(func(f *flag.Flag) {
		if strings.TrimSpace(f.Usage) == "" {
			t.Errorf("%s: flag -%s has no usage text", v.name, f.Name)
		}
		if !mentionsFlag(out, f.Name) {
			t.Errorf("%s -h does not name its flag -%s:\n%s", v.name, f.Name, out)
		}
		if !mentionsFlag(usage, f.Name) {
			t.Errorf("the usage does not name flag -%s of %s", f.Name, v.name)
		}
	})
}

// TestUsageErrors: no verb, an unknown verb and a bad flag are usage
// errors (exit 2) that say so.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"nosuch"}, {"snapshots", "--nosuch"}, {"token"}, {"policy", "nosuch"}, {"restore", "x"}} {
		out, code := helpOf(t, args...)
		if code != exitUsage || out == "" {
			t.Errorf("%v: exit %d, want %d:\n%s", args, code, exitUsage, out)
		}
	}
	if out, code := helpOf(t, "help", "restore"); code != 0 || !strings.Contains(out, "usage: shadowvault restore") {
		t.Errorf("help restore: exit %d:\n%s", code, out)
	}
	if out, code := helpOf(t, "help", "nbd"); code != 0 || !strings.Contains(out, "usage: shadowvault nbd") || !strings.Contains(out, "--listen") {
		t.Errorf("help nbd: exit %d:\n%s", code, out)
	}
}
