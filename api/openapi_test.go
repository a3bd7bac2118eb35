package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/shadowvault/shadowvault/api/internal/openapigen"
	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/diskmap"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

var updateOpenAPI = flag.Bool("openapi.update", false, "rewrite openapi.json from the generator (go generate ./api/)")

// openAPIFile is the committed document, as the server embeds it.
const openAPIFile = "openapi.json"

// routeAliases are routes the server registers that the document
// describes under another path: the partition list answers with and
// without its trailing slash, and the document gives the slashed form
// (the one DESIGN.md names and the client uses).
var routeAliases = map[string]string{
	"/api/v1/snapshots/{id}/disks/{name}/fs": "/api/v1/snapshots/{id}/disks/{name}/fs/",
}

// anyMethod are the methods chi registers a route of every method for.
var anyMethod = []string{"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}

// docMethods are the methods an OpenAPI path item may hold.
var docMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// loadOpenAPI reads the committed document as generic JSON.
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s is not JSON: %v", openAPIFile, err)
	}
	return doc
}

// docOperations returns the document's operations by "METHOD path".
func docOperations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		for _, m := range docMethods {
			if op, ok := item.(map[string]any)[m].(map[string]any); ok {
				out[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return out
}

// TestOpenAPIFresh: the committed document is what the generator makes of
// the operation table and the apiv1 types now. With -openapi.update (go
// generate ./api/) it rewrites the file instead.
func TestOpenAPIFresh(t *testing.T) {
	got, err := openapigen.Generate("..")
	if err != nil {
		t.Fatal(err)
	}
	if *updateOpenAPI {
		if err := os.WriteFile(openAPIFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("api/%s is stale (run go generate ./api/): line %d is\n  %s\nand the generator makes\n  %s", openAPIFile, i+1, wl[i], gl[i])
			}
		}
		t.Fatalf("api/%s is stale (run go generate ./api/): %d lines, the generator makes %d", openAPIFile, len(wl), len(gl))
	}
}

// TestOpenAPIServed: GET /api/v1/openapi.json answers the document without
// a token, and the rest of /api/v1 still needs one.
func TestOpenAPIServed(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	want, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"", s.AdminToken, "svt_bad_bad"} {
		req, _ := newRequest("GET", s.URL+"/api/v1/openapi.json", token)
		resp, err := httpDo(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("token %q: %d %s", token, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !json.Valid(body) || !bytes.Equal(body, want) {
			t.Fatalf("token %q: the body is not the committed document (%d bytes)", token, len(body))
		}
	}
	for _, path := range []string{"/api/v1/receipt-key", "/api/v1/snapshots", "/api/v1/openapi", "/api/v1/openapi.json/x", "/api/v1/nosuch"} {
		if st, code := call(t, s, "GET", path, "", nil); st != 401 || code != "UNAUTHORIZED" {
			t.Errorf("GET %s without a token: %d %s, want 401 UNAUTHORIZED", path, st, code)
		}
	}
	// Only GET is public: another method falls through to the
	// authenticated routes.
	if st, code := call(t, s, "POST", "/api/v1/openapi.json", "", nil); st != 401 || code != "UNAUTHORIZED" {
		t.Errorf("POST /api/v1/openapi.json without a token: %d %s, want 401 UNAUTHORIZED", st, code)
	}
}

// TestOpenAPIRoutes: every route the server registers has an operation of
// that method and path in the document, and every operation is a route.
func TestOpenAPIRoutes(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	router, ok := s.HTTP.Config.Handler.(chi.Routes)
	if !ok {
		t.Fatalf("the server's handler is a %T, not a chi router", s.HTTP.Config.Handler)
	}
	byPath := map[string][]string{}
	err := chi.Walk(router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		byPath[route] = append(byPath[route], method)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for path, methods := range byPath {
		if doc, ok := routeAliases[path]; ok {
			if !slices.Equal(sorted(methods), sorted(byPath[doc])) {
				t.Errorf("alias %s has methods %v, %s has %v", path, methods, doc, byPath[doc])
			}
			continue
		}
		// A route of every method (chi's Handle: /metrics) is documented
		// as GET.
		if slices.Equal(sorted(methods), anyMethod) {
			methods = []string{"GET"}
		}
		for _, m := range methods {
			registered[m+" "+path] = true
		}
	}
	for alias := range routeAliases {
		if byPath[alias] == nil {
			t.Errorf("alias %s is no route: delete it from routeAliases", alias)
		}
	}
	documented := docOperations(t, loadOpenAPI(t))
	for _, r := range sorted(keys(registered)) {
		if documented[r] == nil {
			t.Errorf("route %s is registered but has no operation in api/%s: describe it in api/internal/openapigen/operations.go and run go generate ./api/", r, openAPIFile)
		}
	}
	for _, r := range sorted(keys(documented)) {
		if !registered[r] {
			t.Errorf("api/%s describes %s, which the server does not register", openAPIFile, r)
		}
	}
	if len(registered) < 30 {
		t.Fatalf("only %d routes found: %v", len(registered), sorted(keys(registered)))
	}
}

// TestOpenAPIRoles: each operation's x-shadowvault-roles are exactly the
// roles the route lets in, and an operation without security needs no
// token. Every operation is called as each role with placeholder path
// parameters: a role the route does not allow gets the 403 of the role
// check, an allowed one gets past it (to a 404 of the placeholder, say).
func TestOpenAPIRoles(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	tokens := map[string]string{"admin": s.AdminToken}
	for _, role := range []apiv1.Role{apiv1.RoleRestore, apiv1.RoleAgent} {
		_, plain, err := s.Tokens.Create(role, "HV01")
		if err != nil {
			t.Fatal(err)
		}
		tokens[string(role)] = plain
	}
	params := regexp.MustCompile(`\{[a-z]+\}`)
	for key, op := range docOperations(t, loadOpenAPI(t)) {
		method, path, _ := strings.Cut(key, " ")
		url := s.URL + params.ReplaceAllStringFunc(path, func(p string) string {
			if p == "{index}" {
				return "1"
			}
			return "nosuch"
		})
		do := func(token string) (int, string) {
			req, _ := newRequest(method, url, token)
			resp, err := httpDo(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body apiv1.ErrorBody
			_ = json.NewDecoder(resp.Body).Decode(&body)
			return resp.StatusCode, body.Error.Message
		}
		sec, hasSec := op["security"].([]any)
		if hasSec && len(sec) == 0 {
			if st, _ := do(""); st == 401 || st == 403 {
				t.Errorf("%s: no security in the document, but without a token it answers %d", key, st)
			}
			if op["x-shadowvault-roles"] != nil {
				t.Errorf("%s: roles, and no security", key)
			}
			continue
		}
		if st, _ := do(""); st != 401 {
			t.Errorf("%s: without a token it answers %d, want 401", key, st)
		}
		var allowed []string
		for _, r := range op["x-shadowvault-roles"].([]any) {
			allowed = append(allowed, r.(string))
		}
		if len(allowed) == 0 {
			t.Errorf("%s: no x-shadowvault-roles", key)
		}
		for role, tok := range tokens {
			st, msg := do(tok)
			// HEAD answers have no body: the placeholder answers 404, so
			// only the role check answers 403.
			refused := st == 403 && (method == "HEAD" || strings.HasPrefix(msg, "role "+role+" may not"))
			if want := !slices.Contains(allowed, role); refused != want {
				t.Errorf("%s as %s: %d %q; the document says the roles are %v", key, role, st, msg, allowed)
			}
		}
	}
}

// TestOpenAPICodes: the document's error codes are exactly apiv1.Codes(),
// the error body's code is that enum, and every code an answer lists is
// one of them.
func TestOpenAPICodes(t *testing.T) {
	doc := loadOpenAPI(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	code, _ := schemas["Code"].(map[string]any)
	var enum []string
	for _, v := range code["enum"].([]any) {
		enum = append(enum, v.(string))
	}
	var want []string
	for _, c := range apiv1.Codes() {
		want = append(want, string(c))
	}
	if !slices.Equal(enum, want) {
		t.Fatalf("the Code enum is %v\nwant apiv1.Codes(): %v", enum, want)
	}
	errProps := schemas["Error"].(map[string]any)["properties"].(map[string]any)
	if ref := errProps["code"].(map[string]any)["$ref"]; ref != "#/components/schemas/Code" {
		t.Fatalf("Error.code is %v, want the Code enum", ref)
	}
	walkJSON(doc, "", func(at string, v map[string]any) {
		if codes, ok := v["x-shadowvault-codes"].([]any); ok {
			for _, c := range codes {
				if !slices.Contains(want, c.(string)) {
					t.Errorf("%s lists code %v, which apiv1 does not declare", at, c)
				}
			}
		}
	})
}

// wireTypes are the apiv1 types the document's schemas name with x-go-type.
var wireTypes = map[string]reflect.Type{}

func wire[T any]() {
	t := reflect.TypeFor[T]()
	wireTypes["apiv1."+t.Name()] = t
}

func init() {
	wire[apiv1.ChunksRequest]()
	wire[apiv1.ReplicationInfo]()
	wire[apiv1.ReplicationSnapshot]()
	wire[apiv1.ReplicationSnapshots]()
	wire[apiv1.SyncRequest]()
	wire[apiv1.SyncStarted]()
	wire[apiv1.SyncStats]()
	wire[apiv1.Replica]()
	wire[apiv1.PushBegin]()
	wire[apiv1.PushBegun]()
	wire[apiv1.PushSnapshot]()
	wire[apiv1.PushState]()
	wire[apiv1.PushLookup]()
	wire[apiv1.PushIDs]()
	wire[apiv1.PushCommit]()
	wire[apiv1.AbortResult]()
	wire[apiv1.BackupType]()
	wire[apiv1.CheckRequest]()
	wire[apiv1.ClusterStats]()
	wire[apiv1.CheckResponse]()
	wire[apiv1.CheckResult]()
	wire[apiv1.Code]()
	wire[apiv1.Consistency]()
	wire[apiv1.Container]()
	wire[apiv1.DamagedDisk]()
	wire[apiv1.Decision]()
	wire[apiv1.DirEntry]()
	wire[apiv1.DirListing]()
	wire[apiv1.Disk]()
	wireTypes["apiv1.DiskFormat"] = reflect.TypeFor[apiv1.DiskFormat]() // diskmap.Format
	wire[apiv1.DiskSummary]()
	wire[apiv1.Document]()
	wire[apiv1.Error]()
	wire[apiv1.ErrorBody]()
	wire[apiv1.UILogin]()
	wire[apiv1.UISession]()
	wire[apiv1.ForgetRequest]()
	wire[apiv1.ForgetResult]()
	wire[apiv1.GuestHints]()
	wire[apiv1.Health]()
	wire[apiv1.HintsRequest]()
	wire[apiv1.HintsResult]()
	wire[apiv1.Job]()
	wire[apiv1.JobDetail]()
	wire[apiv1.JobKind]()
	wire[apiv1.JobList]()
	wire[apiv1.JobLogLine]()
	wire[apiv1.JobProgress]()
	wire[apiv1.JobRecord]()
	wire[apiv1.JobResult]()
	wire[apiv1.JobTrigger]()
	wire[apiv1.Match]()
	wire[apiv1.NamedPolicy]()
	wire[apiv1.Partition]()
	wire[apiv1.Policy]()
	wire[apiv1.PolicyDeleted]()
	wire[apiv1.PolicyList]()
	wire[apiv1.PruneRequest]()
	wire[apiv1.PruneResult]()
	wire[apiv1.Range]()
	wire[apiv1.Receipt]()
	wire[apiv1.ReceiptKey]()
	wire[apiv1.RepairResult]()
	wire[apiv1.RevertResult]()
	wire[apiv1.Role]()
	wire[apiv1.Session]()
	wire[apiv1.SessionInfo]()
	wire[apiv1.SessionList]()
	wire[apiv1.SessionRequest]()
	wire[apiv1.SessionStatus]()
	wire[apiv1.SkippedObject]()
	wire[apiv1.Snapshot]()
	wire[apiv1.SnapshotDisk]()
	wire[apiv1.SnapshotForgotten]()
	wire[apiv1.SnapshotList]()
	wire[apiv1.SnapshotProtected]()
	wire[apiv1.SnapshotSummary]()
	wire[apiv1.Stats]()
	wire[apiv1.Schedule]()
	wire[apiv1.ScheduleSpec]()
	wire[apiv1.ScheduleWindow]()
	wire[apiv1.ScheduleList]()
	wire[apiv1.ScheduleDeleted]()
	wire[apiv1.ScheduleStatus]()
	wire[apiv1.ScheduleStatusList]()
	wire[apiv1.Plan]()
	wire[apiv1.PlanItem]()
	wire[apiv1.InventoryReport]()
	wire[apiv1.InventoryVM]()
	wire[apiv1.InventoryDisk]()
	wire[apiv1.HostInventory]()
	wire[apiv1.InventoryList]()
	wire[apiv1.Link]()
	wire[apiv1.LinkCreated]()
	wire[apiv1.LinkList]()
	wire[apiv1.LinkRequest]()
	wire[apiv1.LinkRevoked]()
	wire[apiv1.Token]()
	wire[apiv1.TokenCreated]()
	wire[apiv1.TokenList]()
	wire[apiv1.TokenRequest]()
	wire[apiv1.TokenRevoked]()
	wire[apiv1.Writer]()
	wire[apiv1.WriterMetadataResult]()
}

// jsonNames lists the JSON property names of struct t as encoding/json
// writes them: exported fields by their json tag or name, "-" left out,
// untagged embedded structs flattened (the outer name wins).
func jsonNames(t reflect.Type) []string {
	var names, embedded []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case tag == "-":
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			embedded = append(embedded, jsonNames(f.Type)...)
		case !f.IsExported():
		case name != "":
			names = append(names, name)
		default:
			names = append(names, f.Name)
		}
	}
	for _, n := range embedded {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// TestOpenAPISchemas: every component schema names its apiv1 type, and an
// object schema has exactly the JSON properties of that type; the value
// lists of the other types are values the type accepts.
func TestOpenAPISchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name, v := range schemas {
		sc := v.(map[string]any)
		goType, _ := sc["x-go-type"].(string)
		typ := wireTypes[goType]
		if typ == nil {
			t.Errorf("schema %s names Go type %q, which is not in wireTypes (add the apiv1 type there)", name, goType)
			continue
		}
		if goType != "apiv1."+name {
			t.Errorf("schema %s is of %s", name, goType)
		}
		switch typ.Kind() {
		case reflect.Struct:
			var props []string
			for p := range sc["properties"].(map[string]any) {
				props = append(props, p)
			}
			if want := sorted(jsonNames(typ)); !slices.Equal(sorted(props), want) {
				t.Errorf("schema %s has properties %v\n%s has %v", name, sorted(props), goType, want)
			}
			required, _ := sc["required"].([]any)
			for _, r := range required {
				if !slices.Contains(props, r.(string)) {
					t.Errorf("schema %s requires %v, which it does not have", name, r)
				}
			}
		default:
			var enum []string
			for _, e := range sc["enum"].([]any) {
				enum = append(enum, e.(string))
			}
			if len(enum) == 0 {
				t.Errorf("schema %s of %s has no values", name, goType)
			}
			for _, e := range enum {
				if !validEnum(typ, e) {
					t.Errorf("schema %s lists %q, which %s does not accept", name, e, goType)
				}
			}
		}
	}
}

func validEnum(t reflect.Type, v string) bool {
	switch t {
	case reflect.TypeFor[apiv1.Role]():
		return apiv1.Role(v).Valid()
	case reflect.TypeFor[apiv1.BackupType]():
		return apiv1.BackupType(v).Valid()
	case reflect.TypeFor[apiv1.Consistency]():
		return apiv1.Consistency(v).Valid()
	case reflect.TypeFor[apiv1.Code]():
		return slices.Contains(apiv1.Codes(), apiv1.Code(v))
	case reflect.TypeFor[apiv1.JobKind]():
		return apiv1.JobKind(v).Valid()
	case reflect.TypeFor[apiv1.JobResult]():
		return apiv1.JobResult(v).Valid()
	case reflect.TypeFor[apiv1.JobTrigger]():
		return apiv1.JobTrigger(v).Valid()
	case reflect.TypeFor[apiv1.DiskFormat]():
		_, err := diskmap.ParseFormat(v)
		return err == nil
	}
	return false
}

// TestOpenAPIExamples: every JSON example decodes, with no property left
// over, into the apiv1 type its schema names.
func TestOpenAPIExamples(t *testing.T) {
	doc := loadOpenAPI(t)
	n := 0
	walkJSON(doc, "", func(at string, v map[string]any) {
		ex, ok := v["example"]
		if !ok {
			return
		}
		sc, _ := v["schema"].(map[string]any)
		typ := schemaType(sc)
		if typ == nil {
			if sc["$ref"] != nil || sc["items"] != nil {
				t.Errorf("%s: an example of a schema of no apiv1 type", at)
			}
			return // a JSON scalar (the body of PUT .../protected)
		}
		raw, _ := json.Marshal(ex)
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(reflect.New(typ).Interface()); err != nil {
			t.Errorf("%s: the example is no %s: %v", at, typ, err)
		}
		n++
	})
	if n < 20 {
		t.Fatalf("%d examples checked", n)
	}
}

// schemaType is the Go type of a schema that refers to a component, or is
// an array of them.
func schemaType(sc map[string]any) reflect.Type {
	if ref, ok := sc["$ref"].(string); ok {
		return wireTypes["apiv1."+strings.TrimPrefix(ref, "#/components/schemas/")]
	}
	if items, ok := sc["items"].(map[string]any); ok && sc["type"] == "array" {
		if it := schemaType(items); it != nil {
			return reflect.SliceOf(it)
		}
	}
	return nil
}

// TestOpenAPIValid: the document is OpenAPI 3.1.0 by the specification's
// schema, every $ref resolves, and every operation declares the
// parameters of its path.
func TestOpenAPIValid(t *testing.T) {
	data, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := loadOpenAPI(t)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi is %v, want 3.1.0", doc["openapi"])
	}
	refs := 0
	walkJSON(doc, "", func(at string, v map[string]any) {
		ref, ok := v["$ref"].(string)
		if !ok {
			return
		}
		refs++
		if _, err := resolvePointer(doc, ref); err != nil {
			t.Errorf("%s: $ref %s: %v", at, ref, err)
		}
	})
	if refs == 0 {
		t.Fatal("no $ref found")
	}
	pathParam := regexp.MustCompile(`\{([a-z]+)\}`)
	for key, op := range docOperations(t, doc) {
		_, path, _ := strings.Cut(key, " ")
		var declared, want []string
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			if p := p.(map[string]any); p["in"] == "path" {
				declared = append(declared, p["name"].(string))
			}
		}
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		if !slices.Equal(sorted(declared), sorted(want)) {
			t.Errorf("%s declares path parameters %v, want %v", key, declared, want)
		}
	}

	oa, err := libopenapi.NewDocument(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oa.BuildV3Model(); err != nil {
		t.Fatalf("libopenapi: %v", err)
	}
	v, errs := validator.NewValidator(oa)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s at %s", se.Reason, se.FieldPath)
			}
		}
	}
}

// resolvePointer follows a local JSON pointer ("#/a/b") in doc.
func resolvePointer(doc any, ref string) (any, error) {
	p, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("not a local reference")
	}
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q is not an object", tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("no %q", tok)
		}
	}
	return cur, nil
}

// walkJSON calls fn on every object in v, with its location.
func walkJSON(v any, at string, fn func(at string, obj map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(at, v)
		for k, e := range v {
			walkJSON(e, at+"/"+k, fn)
		}
	case []any:
		for i, e := range v {
			walkJSON(e, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
