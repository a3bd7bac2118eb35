package apiv1

import "time"

// UILogin is the body of POST /ui/login: the token a browser logs in
// with (admin, or restore for a read-only session). A form with a field
// "token" is accepted too.
type UILogin struct {
	Token string `json:"token"`
}

// UISession is the answer to POST /ui/login and GET /ui/session: who the
// dashboard session is, the CSRF token its unsafe requests carry in the
// X-CSRF-Token header, and when it ends unless used. Without a session
// (GET /ui/session) LoggedIn is false and nothing else is set.
type UISession struct {
	LoggedIn  bool      `json:"logged_in"`
	Role      Role      `json:"role,omitempty"`
	TokenID   string    `json:"token_id,omitempty"`
	Host      string    `json:"host,omitempty"` // a restore token's host, if it has one
	ReadOnly  bool      `json:"read_only"`      // a restore session: no actions
	CSRFToken string    `json:"csrf_token,omitempty"`
	Created   time.Time `json:"created,omitzero"`
	Expires   time.Time `json:"expires,omitzero"`
	// IdleSeconds and MaxSeconds are the session's lifetimes: it ends
	// after IdleSeconds without a request, at the latest MaxSeconds
	// after login.
	IdleSeconds int64 `json:"idle_seconds,omitempty"`
	MaxSeconds  int64 `json:"max_seconds,omitempty"`
}
