package apiv1

import "time"

// A link is a short-lived, read-only URL of one snapshot disk in one
// format, for HTTP clients that cannot send a bearer token (qemu's curl
// driver, a browser, curl without a header). Its secret is the `sig` query
// parameter of the restore route; it is valid for GET and HEAD of that one
// disk and format until it expires or is revoked, and never for anything
// else.

// SignatureParam is the query parameter that carries a link's secret.
const SignatureParam = "sig"

// MaxLinkLifetime is the longest a link may live.
const MaxLinkLifetime = 7 * 24 * time.Hour

// DefaultLinkLifetime is a link's lifetime when the request names none.
const DefaultLinkLifetime = time.Hour

// LinkRequest creates a link: POST /api/v1/snapshots/{id}/disks/{name}/links.
// Format is a restore format ("raw" when empty); ExpiresIn is the lifetime
// in seconds (DefaultLinkLifetime when 0, at most MaxLinkLifetime).
type LinkRequest struct {
	Format    string `json:"format,omitempty"`
	ExpiresIn int64  `json:"expires_in,omitempty"`
}

// Link describes a link, without its secret.
type Link struct {
	ID       string    `json:"id"`
	Snapshot string    `json:"snapshot"`
	Disk     string    `json:"disk"`
	Format   string    `json:"format"`
	Host     string    `json:"host"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
	// CreatedBy is the id of the token that made the link; revoking that
	// token revokes its links.
	CreatedBy string `json:"created_by"`
}

// LinkCreated is the answer to creating a link (201). Path is the link
// relative to the server's base URL, secret included: shown this once.
type LinkCreated struct {
	Link
	Path string `json:"path"`
}

// LinkList is the answer to GET /api/v1/links: the links not yet expired.
type LinkList struct {
	Links []Link `json:"links"`
}

// LinkRevoked is the answer to DELETE /api/v1/links/{id}.
type LinkRevoked struct {
	ID      string `json:"id"`
	Revoked bool   `json:"revoked"`
}
