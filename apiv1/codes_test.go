package apiv1

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCodesComplete: Codes lists every constant of type Code declared in
// the package, each once, in the order of the declarations, so that a
// code added to errors.go and not to the list fails here.
func TestCodesComplete(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var declared []Code
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		declared = append(declared, codeConstants(t, f)...)
	}
	got := Codes()
	if len(declared) == 0 {
		t.Fatal("no Code constants found in the package source")
	}
	if !slices.Equal(got, declared) {
		for _, c := range declared {
			if !slices.Contains(got, c) {
				t.Errorf("code %s is declared but not in Codes()", c)
			}
		}
		for _, c := range got {
			if !slices.Contains(declared, c) {
				t.Errorf("Codes() lists %s, which is not declared", c)
			}
		}
		t.Fatalf("Codes() = %v\nwant the declarations, in order: %v", got, declared)
	}
	seen := map[Code]bool{}
	for _, c := range got {
		if seen[c] {
			t.Errorf("code %s is declared twice", c)
		}
		seen[c] = true
	}
	got[0] = "CHANGED"
	if Codes()[0] == "CHANGED" {
		t.Error("Codes() returns the package's own slice")
	}
}

// codeConstants returns the values of the constants of type Code that f
// declares.
func codeConstants(t *testing.T, f *ast.File) []Code {
	var out []Code
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			typed := false
			if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "Code" {
				typed = true
			}
			for i, v := range vs.Values {
				// CodeX Code = "X", or CodeX = Code("X").
				if call, ok := v.(*ast.CallExpr); ok && !typed && len(call.Args) == 1 {
					if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "Code" {
						v = call.Args[0]
					} else {
						continue
					}
				} else if !typed {
					continue
				}
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("constant %s: not a string literal", vs.Names[i].Name)
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, Code(s))
			}
		}
	}
	return out
}
