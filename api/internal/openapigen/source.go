package openapigen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// module is the Go module the wire types belong to.
const module = "github.com/shadowvault/shadowvault"

// apiv1Path is the wire package: every schema is one of its types, or a
// type it names again as an alias.
const apiv1Path = module + "/apiv1"

// sources is what the generator reads from the source of the wire
// packages: doc comments of types and fields, the string constants of each
// type, and the aliases apiv1 declares. Keys are "pkgpath.Type" and
// "pkgpath.Type.Field".
type sources struct {
	docs      map[string]string
	constants map[string][]string
	// aliases maps a type that apiv1 names again to its apiv1 name.
	aliases map[string]string
}

// readSources parses the non-test Go files of the given packages of the
// module rooted at root.
func readSources(root string, pkgs ...string) (*sources, error) {
	s := &sources{docs: map[string]string{}, constants: map[string][]string{}, aliases: map[string]string{}}
	for _, pkg := range pkgs {
		dir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(pkg, module+"/")))
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("wire package %s: %w", pkg, err)
		}
		fset := token.NewFileSet()
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
			if err != nil {
				return nil, err
			}
			if err := s.file(pkg, f); err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
			}
		}
	}
	return s, nil
}

func (s *sources) file(pkg string, f *ast.File) error {
	imports := map[string]string{}
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		local := p[strings.LastIndex(p, "/")+1:]
		if im.Name != nil {
			local = im.Name.Name
		}
		imports[local] = p
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		switch gd.Tok {
		case token.TYPE:
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				key := pkg + "." + ts.Name.Name
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				s.docs[key] = text(doc)
				if ts.Assign.IsValid() && pkg == apiv1Path {
					if sel, ok := ts.Type.(*ast.SelectorExpr); ok {
						if x, ok := sel.X.(*ast.Ident); ok && imports[x.Name] != "" {
							s.aliases[imports[x.Name]+"."+sel.Sel.Name] = ts.Name.Name
						}
					}
				}
				if st, ok := ts.Type.(*ast.StructType); ok {
					for _, field := range st.Fields.List {
						doc := text(field.Doc)
						if c := text(field.Comment); c != "" {
							doc = strings.TrimSpace(doc + " " + c)
						}
						for _, n := range field.Names {
							s.docs[key+"."+n.Name] = doc
						}
					}
				}
			}
		case token.CONST:
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				typ, ok := vs.Type.(*ast.Ident)
				if !ok {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					val, err := strconv.Unquote(lit.Value)
					if err != nil {
						return err
					}
					key := pkg + "." + typ.Name
					s.constants[key] = append(s.constants[key], val)
				}
			}
		}
	}
	return nil
}

// text is a doc comment as one paragraph per blank-line-separated block.
func text(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	var paras []string
	for _, p := range strings.Split(strings.TrimSpace(g.Text()), "\n\n") {
		paras = append(paras, strings.Join(strings.Fields(p), " "))
	}
	return strings.Join(paras, "\n\n")
}
