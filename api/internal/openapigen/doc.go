// Package openapigen writes api/openapi.json, the OpenAPI 3.1 document of
// shadowvault's HTTP API v1, which the server serves at
// GET /api/v1/openapi.json.
//
// The operations (method, path, roles, parameters, bodies, answers and
// error codes) are a table in operations.go: that is where a route is
// described when it is added to api.Server.Handler. The schemas of the
// bodies are derived from the apiv1 Go types by reflection: the JSON
// property names from the struct fields and their json tags (embedded
// structs flattened, as encoding/json does), descriptions from the doc
// comments in the source, and the values of string types (error codes,
// roles, backup types, consistencies) from their constants.
//
// The package's test-side user is package api: its tests regenerate the
// document and fail when the committed file differs (go generate ./api/
// rewrites it), and check it against the routes the server registers.
// Nothing in the product imports this package.
package openapigen
