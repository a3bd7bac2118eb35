package openapigen

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/diskmap"
)

// schemas builds component schemas from Go types by reflection.
type schemas struct {
	src *sources
	// out holds the components built so far, by component name.
	out map[string]*Schema
	// types records which type each component name stands for, so that
	// two types never share a name.
	types map[string]reflect.Type
	// requests are the types reachable from a request body: their
	// schemas refuse unknown properties (the server decodes them so) and
	// require nothing (a missing field is its zero value).
	requests map[reflect.Type]bool
	err      error
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// textEnums are the values of types that encode as text through
// MarshalText rather than as a Go string.
var textEnums = map[reflect.Type][]string{
	reflect.TypeFor[diskmap.Format](): marshalAll(diskmap.FormatRaw, diskmap.FormatVHD, diskmap.FormatVHDX),
}

func marshalAll[T encoding.TextMarshaler](vals ...T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		b, err := v.MarshalText()
		if err != nil {
			panic(err)
		}
		out[i] = string(b)
	}
	return out
}

// fieldSchema replaces the schema reflection would give a field, for the
// fields whose Go type says less than the wire does; key is "Type.Field"
// with the apiv1 name of the type. It returns nil for the others.
func (s *schemas) fieldSchema(key string) *Schema {
	switch key {
	case "Job.LastResult": // a json.RawMessage
		return &Schema{OneOf: []*Schema{s.ref(reflect.TypeFor[apiv1.PruneResult]()), s.ref(reflect.TypeFor[apiv1.CheckResult]())}}
	}
	return nil
}

func newSchemas(src *sources) *schemas {
	return &schemas{src: src, out: map[string]*Schema{}, types: map[string]reflect.Type{}, requests: map[reflect.Type]bool{}}
}

// markRequest records t and every type it holds as part of a request.
func (s *schemas) markRequest(t reflect.Type) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		if t == rawType {
			return
		}
		t = t.Elem()
	}
	if s.requests[t] || t.Kind() != reflect.Struct || t == timeType {
		return
	}
	s.requests[t] = true
	for _, f := range jsonFields(t) {
		s.markRequest(f.typ)
	}
}

// name is the component name of a wire type: its name in apiv1.
func (s *schemas) name(t reflect.Type) string {
	if t.PkgPath() == apiv1Path {
		return t.Name()
	}
	if a, ok := s.src.aliases[t.PkgPath()+"."+t.Name()]; ok {
		return a
	}
	s.fail(fmt.Errorf("type %s is on the wire but is neither declared in apiv1 nor named there by an alias", t))
	return t.Name()
}

func (s *schemas) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// doc is the doc comment of a type, preferring apiv1's alias.
func (s *schemas) doc(t reflect.Type) string {
	if d := s.src.docs[apiv1Path+"."+s.name(t)]; d != "" {
		return d
	}
	return s.src.docs[t.PkgPath()+"."+t.Name()]
}

// component reports whether t gets a schema of its own in components:
// structs, and named types with a fixed set of values.
func (s *schemas) component(t reflect.Type) bool {
	if t.Name() == "" || t == timeType || t == rawType {
		return false
	}
	switch {
	case t.Kind() == reflect.Struct:
		return true
	case textEnums[t] != nil:
		return true
	case t.Kind() == reflect.String:
		return len(s.src.constants[t.PkgPath()+"."+t.Name()]) > 0
	}
	return false
}

// ref returns a reference to the component of t, building it first.
func (s *schemas) ref(t reflect.Type) *Schema {
	name := s.name(t)
	if prev, ok := s.types[name]; ok {
		if prev != t {
			s.fail(fmt.Errorf("types %s and %s are both named %s", prev, t, name))
		}
		return &Schema{Ref: "#/components/schemas/" + name}
	}
	s.types[name] = t
	c := &Schema{}
	s.out[name] = c
	*c = *s.build(t)
	c.Title = name
	c.Description = s.doc(t)
	c.GoType = "apiv1." + name
	return &Schema{Ref: "#/components/schemas/" + name}
}

// build is the schema of a component type.
func (s *schemas) build(t reflect.Type) *Schema {
	if vals := textEnums[t]; vals != nil {
		return &Schema{Type: "string", Enum: vals}
	}
	if t.Kind() == reflect.String {
		return &Schema{Type: "string", Enum: s.src.constants[t.PkgPath()+"."+t.Name()]}
	}
	obj := &Schema{Type: "object", Properties: map[string]*Schema{}}
	req := s.requests[t]
	if req {
		obj.AdditionalProperties = false
	}
	for _, f := range jsonFields(t) {
		fs := s.fieldSchema(s.name(f.owner) + "." + f.goName)
		if fs == nil {
			fs = s.of(f.typ, f.omitEmpty)
		}
		fs.Description = s.src.docs[f.owner.PkgPath()+"."+f.owner.Name()+"."+f.goName]
		obj.Properties[f.name] = fs
		if !f.omitEmpty && !req {
			obj.Required = append(obj.Required, f.name)
		}
	}
	return obj
}

// of is the schema of a value of type t, as a field (omitEmpty: the field
// is left out rather than null when empty) or a body.
func (s *schemas) of(t reflect.Type, omitEmpty bool) *Schema {
	orNull := func(sc *Schema) *Schema {
		if omitEmpty {
			return sc
		}
		if sc.Ref != "" {
			return &Schema{OneOf: []*Schema{sc, {Type: "null"}}}
		}
		if typ, ok := sc.Type.(string); ok {
			sc.Type = []string{typ, "null"}
		}
		return sc // else any value, null too
	}
	switch {
	case t == timeType:
		return &Schema{Type: "string", Format: "date-time"}
	case t == rawType:
		return &Schema{} // any JSON value
	case s.component(t):
		return s.ref(t)
	case t.Implements(textMarshaler):
		return &Schema{Type: "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return orNull(s.of(t.Elem(), true))
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return orNull(&Schema{Type: "string", Format: "byte"})
		}
		return orNull(&Schema{Type: "array", Items: s.of(t.Elem(), true)})
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			s.fail(fmt.Errorf("map %s: JSON object keys must be strings", t))
		}
		return orNull(&Schema{Type: "object", AdditionalProperties: s.of(t.Elem(), true)})
	case reflect.String:
		return &Schema{Type: "string"}
	case reflect.Bool:
		return &Schema{Type: "boolean"}
	case reflect.Int, reflect.Int64:
		return &Schema{Type: "integer", Format: "int64"}
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return &Schema{Type: "integer", Format: "int32"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &Schema{Type: "integer", Minimum: ptr[int64](0)}
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: "number", Format: "double"}
	case reflect.Interface:
		return &Schema{}
	}
	s.fail(fmt.Errorf("type %s has no JSON schema here", t))
	return &Schema{}
}

func ptr[T any](v T) *T { return &v }

// field is a JSON property of a struct: its name on the wire, the Go
// field and the struct declaring it (an embedded struct's fields are
// declared by it).
type field struct {
	name, goName string
	typ          reflect.Type
	omitEmpty    bool
	owner        reflect.Type
}

// jsonFields lists the JSON properties of struct t in encoding/json's
// order, embedded structs flattened (a field of the outer struct wins over
// an embedded one of the same name).
func jsonFields(t reflect.Type) []field {
	type entry struct {
		f        field
		embedded reflect.Type
	}
	var entries []entry
	own := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				entries = append(entries, entry{embedded: ft})
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		opt := func(o string) bool { return strings.Contains(","+opts+",", ","+o+",") }
		// omitempty leaves out empty values, but never a struct.
		omit := opt("omitzero") || opt("omitempty") && ft.Kind() != reflect.Struct
		own[name] = true
		entries = append(entries, entry{f: field{name: name, goName: f.Name, typ: ft, owner: t, omitEmpty: omit}})
	}
	var out []field
	for _, e := range entries {
		if e.embedded == nil {
			out = append(out, e.f)
			continue
		}
		for _, inner := range jsonFields(e.embedded) {
			if !own[inner.name] {
				own[inner.name] = true
				out = append(out, inner)
			}
		}
	}
	return out
}
