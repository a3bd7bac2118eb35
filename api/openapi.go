package api

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openAPI is the OpenAPI 3.1 document of API v1. It is generated from the
// operation table in internal/openapigen and the apiv1 types; the tests
// fail when it is stale or disagrees with the routes of Handler.
//
//go:generate go test -run ^TestOpenAPIFresh$ -openapi.update .
//go:embed openapi.json
var openAPI []byte

// openAPIDocument serves GET /api/v1/openapi.json. The document is not
// secret: it needs no token.
func openAPIDocument(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPI)))
	_, _ = w.Write(openAPI)
}
