package apiv1

import (
	"fmt"
	"time"
)

// Role is what a token may do. Like BackupType, the value is its wire
// form.
type Role string

// Roles a token can have.
const (
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
	// RoleRestore may list and restore snapshots, of one host if the token
	// has one.
	RoleRestore Role = "restore"
	// RoleAgent may back up its host, and list that host's snapshots.
	RoleAgent Role = "agent"
	// RoleReplication may read what a sync copies, and nothing else: the
	// snapshot list of every host, manifests, disk maps, writer metadata
	// and chunks by ID, through /api/v1/replication/. It may not write,
	// delete, restore or browse files. It has no host.
	RoleReplication Role = "replication"
	// RolePush may add snapshots another server's sync job pushes,
	// through /api/v1/replication/push/, and nothing else: it cannot read
	// chunks, restore, delete or forget. It has no host.
	RolePush Role = "push"
)

func (r Role) String() string { return string(r) }

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleRestore || r == RoleAgent || r == RoleReplication || r == RolePush
}

// ParseRole parses "admin", "restore", "agent", "replication" or "push".
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want admin, restore, agent, replication or push)", s)
}

// TokenRequest creates a token: POST /api/v1/tokens. An agent token needs
// a host; a restore token may have one; an admin token has none.
type TokenRequest struct {
	Role Role   `json:"role"`
	Host string `json:"host"`
}

// TokenCreated is the answer to creating a token (201). Token is the
// secret, shown this once; ReceiptKey is the server's public receipt key,
// for the agent to pin.
type TokenCreated struct {
	Host       string `json:"host"`
	ID         string `json:"id"`
	ReceiptKey string `json:"receipt_key"`
	Role       Role   `json:"role"`
	Token      string `json:"token"`
}

// Token describes a token, without its secret.
type Token struct {
	ID      string    `json:"id"`
	Role    Role      `json:"role"`
	Host    string    `json:"host,omitempty"`
	Created time.Time `json:"created"`
}

// TokenList is the answer to GET /api/v1/tokens.
type TokenList struct {
	Tokens []Token `json:"tokens"`
}

// TokenRevoked is the answer to DELETE /api/v1/tokens/{id}.
type TokenRevoked struct {
	ID      string `json:"id"`
	Revoked bool   `json:"revoked"`
}
