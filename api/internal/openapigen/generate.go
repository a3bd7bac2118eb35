package openapigen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/shadowvault/shadowvault/apiv1"
)

// op describes one operation: an entry of the table in operations.go.
type op struct {
	method, path string
	id           string // the operationId
	tag          string
	summary      string
	desc         string
	// roles are the token roles the route allows; nil: no token needed.
	roles   []apiv1.Role
	params  []*Parameter
	body    *reqBody
	answers []answer
}

type reqBody struct {
	desc     string
	required bool
	content  []content
}

// content is a body in one media type: its schema is that of goType, or
// schema.
type content struct {
	mediaType string
	goType    reflect.Type
	schema    *Schema
	example   string // JSON
}

// answer is one status of an operation. An answer with codes is an error
// answer: an apiv1.ErrorBody with one of them.
type answer struct {
	status  int
	desc    string
	headers map[string]*Header
	content []content
	codes   []apiv1.Code
}

// errUnauthorized is the answer of every operation that needs a token,
// to a request without a valid one.
var errUnauthorized = answer{
	status: 401, desc: "No bearer token, or an invalid or revoked one.", codes: []apiv1.Code{apiv1.CodeUnauthorized},
	headers: map[string]*Header{"WWW-Authenticate": {
		Description: "`Bearer realm=\"shadowvault\"`, with `error=\"invalid_token\"` for a token that was sent.", Schema: &Schema{Type: "string"}}},
}

func jsonBody[T any](example string) content {
	return content{mediaType: "application/json", goType: reflect.TypeFor[T](), example: example}
}

func ok[T any](status int, desc, example string) answer {
	return answer{status: status, desc: desc, content: []content{jsonBody[T](example)}}
}

func fail(status int, desc string, codes ...apiv1.Code) answer {
	return answer{status: status, desc: desc, codes: codes}
}

func pathParam(name, desc string) *Parameter {
	return &Parameter{Name: name, In: "path", Required: true, Description: desc, Schema: &Schema{Type: "string"}}
}

func query(name, desc string, schema *Schema) *Parameter {
	return &Parameter{Name: name, In: "query", Description: desc, Schema: schema}
}

func binary(desc string) *Schema {
	return &Schema{Type: "string", Format: "binary", Description: desc}
}

// Generate returns the OpenAPI document of API v1, indented JSON ending
// in a newline. root is the module's directory: the doc comments and
// constants of the wire types are read from its source.
func Generate(root string) ([]byte, error) {
	src, err := readSources(root, apiv1Path, module+"/receipt", module+"/diskmap")
	if err != nil {
		return nil, err
	}
	s := newSchemas(src)
	ops := operations()
	for _, o := range ops {
		if o.body != nil {
			for _, c := range o.body.content {
				if c.goType != nil {
					s.markRequest(c.goType)
				}
			}
		}
	}
	errorRef := s.ref(reflect.TypeFor[apiv1.ErrorBody]())
	unauthorized := &Response{}
	if err := unauthorized.add(errUnauthorized, s, errorRef, false); err != nil {
		return nil, err
	}
	unauthorized.describeCodes()
	unauthorized.Content["application/json"].Example = json.RawMessage(`{"error":{"code":"UNAUTHORIZED","message":"invalid or revoked token"}}`)
	doc := &Document{
		OpenAPI: "3.1.0",
		Info: Info{
			Title:       "shadowvault API",
			Version:     "v1",
			Summary:     "A deduplicating backup repository server for Hyper-V VM disks.",
			Description: infoDescription,
		},
		Servers:  []Server{{URL: "http://127.0.0.1:8420", Description: "`shadowvault serve` with no flags"}},
		Security: []Requirement{{"bearer": []string{}}},
		Tags:     tags,
		Paths:    map[string]*PathItem{},
		Components: Components{
			Schemas:   s.out,
			Responses: map[string]*Response{"Unauthorized": unauthorized},
			SecuritySchemes: map[string]*SecurityScheme{"bearer": {
				Type: "http", Scheme: "bearer", BearerFormat: "svt_<id>_<secret>",
				Description: "A token of role admin, restore or agent (`Authorization: Bearer svt_...`). The first start writes an admin token to `<state>/admin.token`; " +
					"admins create the others (POST /api/v1/tokens). Each operation's `x-shadowvault-roles` lists the roles it allows; any other role gets 403 FORBIDDEN, " +
					"and no token or an invalid or revoked one 401 UNAUTHORIZED.",
			}},
		},
	}
	seen := map[string]bool{}
	for _, o := range ops {
		if seen[o.id] {
			return nil, fmt.Errorf("operationId %s is used twice", o.id)
		}
		seen[o.id] = true
		item := doc.Paths[o.path]
		if item == nil {
			item = &PathItem{}
			doc.Paths[o.path] = item
		}
		slot := item.slot(o.method)
		if slot == nil {
			return nil, fmt.Errorf("%s %s: method not supported here", o.method, o.path)
		}
		if *slot != nil {
			return nil, fmt.Errorf("%s %s is described twice", o.method, o.path)
		}
		op, err := o.build(s, errorRef)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.method, o.path, err)
		}
		*slot = op
	}
	if s.err != nil {
		return nil, s.err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (p *PathItem) slot(method string) **Operation {
	switch method {
	case http.MethodGet:
		return &p.Get
	case http.MethodPut:
		return &p.Put
	case http.MethodPost:
		return &p.Post
	case http.MethodDelete:
		return &p.Delete
	case http.MethodHead:
		return &p.Head
	}
	return nil
}

func (o op) build(s *schemas, errorRef *Schema) (*Operation, error) {
	out := &Operation{
		OperationID: o.id, Tags: []string{o.tag}, Summary: o.summary, Description: o.desc,
		Parameters: o.params, Responses: map[string]*Response{},
	}
	answers := o.answers
	if o.roles == nil {
		out.Security = &[]Requirement{}
	} else {
		for _, r := range o.roles {
			out.Roles = append(out.Roles, string(r))
		}
		roles := strings.Join(out.Roles, ", ")
		out.Description = strings.TrimSpace("Roles: " + roles + ".\n\n" + out.Description)
		answers = append([]answer{fail(403, "The token's role is not one of "+roles+".", apiv1.CodeForbidden)}, answers...)
		if o.method == http.MethodHead {
			answers = append(answers, errUnauthorized) // without its body
		} else {
			out.Responses["401"] = &Response{Ref: "#/components/responses/Unauthorized"}
		}
		answers = append(answers, fail(500, "An unexpected error.", apiv1.CodeInternal))
	}
	for _, p := range o.params {
		if p.In == "path" && !strings.Contains(o.path, "{"+p.Name+"}") {
			return nil, fmt.Errorf("path parameter %s is not in the path", p.Name)
		}
	}
	if o.body != nil {
		rb := &RequestBody{Description: o.body.desc, Required: o.body.required, Content: map[string]*MediaType{}}
		for _, c := range o.body.content {
			mt, err := c.media(s)
			if err != nil {
				return nil, err
			}
			rb.Content[c.mediaType] = mt
		}
		out.RequestBody = rb
	}
	for _, a := range answers {
		key := strconv.Itoa(a.status)
		r := out.Responses[key]
		if r == nil {
			r = &Response{}
			out.Responses[key] = r
		}
		if err := r.add(a, s, errorRef, o.method == http.MethodHead); err != nil {
			return nil, fmt.Errorf("answer %d: %w", a.status, err)
		}
	}
	for _, r := range out.Responses {
		r.describeCodes()
	}
	return out, nil
}

// describeCodes ends the description of an error answer with its codes.
func (r *Response) describeCodes() {
	if len(r.Codes) == 0 {
		return
	}
	codes := make([]string, len(r.Codes))
	for i, c := range r.Codes {
		codes[i] = "`" + c + "`"
	}
	r.Description += " Error codes: " + strings.Join(codes, ", ") + "."
}

// add merges answer a into r: answers of the same status share one
// response, their descriptions and codes joined.
func (r *Response) add(a answer, s *schemas, errorRef *Schema, head bool) error {
	r.Description = strings.TrimSpace(r.Description + " " + a.desc)
	for name, h := range a.headers {
		if r.Headers == nil {
			r.Headers = map[string]*Header{}
		}
		r.Headers[name] = h
	}
	cs := a.content
	if len(a.codes) > 0 {
		if len(cs) > 0 {
			return fmt.Errorf("an error answer has the error body")
		}
		for _, c := range a.codes {
			if !slices.Contains(r.Codes, string(c)) {
				r.Codes = append(r.Codes, string(c))
			}
		}
		cs = []content{{mediaType: "application/json", schema: errorRef}}
	}
	if head {
		return nil // the headers of a GET, without its body
	}
	for _, c := range cs {
		mt, err := c.media(s)
		if err != nil {
			return err
		}
		if r.Content == nil {
			r.Content = map[string]*MediaType{}
		}
		if prev, ok := r.Content[c.mediaType]; ok && prev.Schema.Ref != mt.Schema.Ref {
			return fmt.Errorf("two bodies of type %s", c.mediaType)
		}
		r.Content[c.mediaType] = mt
	}
	return nil
}

func (c content) media(s *schemas) (*MediaType, error) {
	mt := &MediaType{Schema: c.schema}
	if c.goType != nil {
		mt.Schema = s.of(c.goType, true)
	}
	if c.example != "" {
		if !json.Valid([]byte(c.example)) {
			return nil, fmt.Errorf("the example of %s is not JSON", c.mediaType)
		}
		mt.Example = json.RawMessage(c.example)
	}
	return mt, nil
}

var tags = []Tag{
	{Name: "sessions", Description: "The backup loop: open a session, stream each disk, complete it for a signed receipt (or abort it)."},
	{Name: "snapshots", Description: "The catalogue: snapshots and their manifests, protection, forgetting one."},
	{Name: "restore", Description: "A snapshot disk's content: restores in every format, and the block digests incremental agents compare."},
	{Name: "files", Description: "Browsing the NTFS volumes inside a snapshot disk, and downloading single files."},
	{Name: "schedules", Description: "Backup schedules held by the server, the plans agents pull, where scheduled VMs stand, and the hosts' inventories."},
	{Name: "retention", Description: "Retention policies and forget."},
	{Name: "maintenance", Description: "Prune, check, index repair and figures."},
	{Name: "jobs", Description: "The job history: every backup, prune, check, repair, forget and sync, with its log."},
	{Name: "tokens", Description: "API tokens and their roles."},
	{Name: "replication", Description: "Sync jobs that pull snapshots from another server, and the read-only routes a source serves them to a replication token."},
	{Name: "server", Description: "Health, metrics, the receipt key and this document."},
	{Name: "dashboard", Description: "The web dashboard at /ui/: its pages, and the login that opens a session for a browser."},
}

const infoDescription = `shadowvault stores the VHD, VHDX and raw disks of Hyper-V VMs, chunked, deduplicated and compressed, and returns a signed completion receipt once a backup is durable: the receipt is what lets a host's backup agent tell VSS "backup complete", so that the guests truncate their logs.

Bodies are JSON (indented by two spaces) unless an operation says otherwise; a disk upload and a restore are raw streams, never buffered. A request body of JSON is at most 1 MiB unless an operation says otherwise, and a property the server does not know is refused (400 BAD_REQUEST).

Every error answer is {"error":{"code":"...","message":"..."}}: the code (one of the values of the Code schema) is for programs, the message for people. Each answer lists the codes it may carry in x-shadowvault-codes. A path that is no route answers 404 NOT_FOUND; a method the route does not have, 405 BAD_REQUEST.

Every answer carries an X-Request-Id header, the id under which the server logged the request.

Roles: admin may do everything; restore may list and restore snapshots (of one host if the token has one); agent may back up its host and list that host's snapshots; replication may read what another server's sync job copies (the /api/v1/replication routes) and nothing else; push may add the snapshots another server's sync job pushes (the /api/v1/replication/push routes) and nothing else. A token limited to a host sees no other host's snapshots: one of another host answers as a missing one does, and a list asked for another host 403 FORBIDDEN. Each operation's x-shadowvault-roles lists the roles it allows.

The web dashboard (/ui/) logs in with a token (POST /ui/login, admin or restore) and then authenticates /api/v1 requests with its session cookie instead of a bearer token, with the role of the token behind it. A request with the cookie and an unsafe method (POST, PUT, PATCH, DELETE) must carry the session's CSRF token in the X-CSRF-Token header and come from this origin (Origin, Sec-Fetch-Site), else 403 CSRF_FAILED; a restore token's session may not use an unsafe method at all (403 FORBIDDEN). Bearer-authenticated requests are unaffected.`
