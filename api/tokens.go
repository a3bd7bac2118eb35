package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/index"
)

// Token is a stored token: what the API shows of it, and the SHA-256 of
// its secret (the secret itself is never kept).
type Token struct {
	apiv1.Token
	Hash string `json:"hash,omitempty"`
}

// tokenStore is where token records live (the index).
type tokenStore interface {
	PutToken(id string, record []byte) error
	DeleteToken(id string) error
	Tokens(fn func(id string, record []byte) error) error
}

// Tokens creates, checks, lists and revokes API tokens.
type Tokens struct {
	store tokenStore
}

// NewTokens returns a token registry over store.
func NewTokens(store tokenStore) *Tokens { return &Tokens{store: store} }

var errBadToken = errors.New("invalid or revoked token")

// Create makes a token and returns its record and secret form. The secret is
// never stored. An unknown role, a host for an admin token or no valid host
// for an agent token is refused (400 BAD_REQUEST or BAD_NAME).
func (t *Tokens) Create(role apiv1.Role, host string) (Token, string, error) {
	switch role {
	case apiv1.RoleAdmin:
		if host != "" {
			return Token{}, "", errf(400, apiv1.CodeBadRequest, "an admin token cannot be limited to a host (use role restore or agent)")
		}
	case apiv1.RoleRestore:
		// A restore token with a host sees that host's snapshots only.
		if host != "" {
			if err := validName("host", host); err != nil {
				return Token{}, "", err
			}
		}
	case apiv1.RoleAgent:
		if err := validName("host", host); err != nil {
			return Token{}, "", err
		}
	case apiv1.RoleReplication, apiv1.RolePush:
		// A sync copies every host: a replication or push token has none.
		if host != "" {
			return Token{}, "", errf(400, apiv1.CodeBadRequest, "a "+string(role)+" token cannot be limited to a host (select hosts in the sync job)")
		}
	default:
		_, err := apiv1.ParseRole(string(role))
		return Token{}, "", errf(400, apiv1.CodeBadRequest, err.Error())
	}
	idb := make([]byte, 6)
	secret := make([]byte, 24)
	if _, err := rand.Read(idb); err != nil {
		return Token{}, "", err
	}
	if _, err := rand.Read(secret); err != nil {
		return Token{}, "", err
	}
	id := hex.EncodeToString(idb)
	plain := "svt_" + id + "_" + hex.EncodeToString(secret)
	sum := sha256.Sum256([]byte(plain))
	tok := Token{Token: apiv1.Token{ID: id, Role: role, Host: host, Created: time.Now().UTC()}, Hash: hex.EncodeToString(sum[:])}
	rec, _ := json.Marshal(tok)
	if err := t.store.PutToken(id, rec); err != nil {
		return Token{}, "", err
	}
	tok.Hash = ""
	return tok, plain, nil
}

// Check returns the token record for a presented secret.
func (t *Tokens) Check(plain string) (Token, error) {
	parts := strings.Split(plain, "_")
	if len(parts) != 3 || parts[0] != "svt" {
		return Token{}, errBadToken
	}
	var tok Token
	found := false
	err := t.store.Tokens(func(id string, rec []byte) error {
		if id == parts[1] {
			found = true
			return json.Unmarshal(rec, &tok)
		}
		return nil
	})
	if err != nil || !found || tok.Role == roleLink {
		return Token{}, errBadToken
	}
	sum := sha256.Sum256([]byte(plain))
	want, err := hex.DecodeString(tok.Hash)
	if err != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return Token{}, errBadToken
	}
	tok.Hash = ""
	return tok, nil
}

// List returns every token record, without hashes.
func (t *Tokens) List() ([]Token, error) {
	out := []Token{}
	err := t.store.Tokens(func(id string, rec []byte) error {
		var tok Token
		if err := json.Unmarshal(rec, &tok); err != nil {
			return err
		}
		if tok.Role == roleLink {
			return nil // a link, listed by ListLinks
		}
		tok.Hash = ""
		out = append(out, tok)
		return nil
	})
	return out, err
}

// Revoke deletes a token, and then the links it made. The last admin token
// stays: without it nobody could administer the server (an operator with
// the server stopped can still make one: shadowvault token create
// --offline).
func (t *Tokens) Revoke(id string) error {
	list, err := t.List()
	if err != nil {
		return err
	}
	admins, isAdmin, known := 0, false, false
	for _, tok := range list {
		known = known || tok.ID == id
		if tok.Role == apiv1.RoleAdmin {
			admins++
			isAdmin = isAdmin || tok.ID == id
		}
	}
	if isAdmin && admins == 1 {
		return errf(409, apiv1.CodeLastAdmin, "token "+id+" is the last admin token: create another admin token first")
	}
	if !known {
		return errf(404, apiv1.CodeNotFound, "no token "+id)
	}
	err = t.store.DeleteToken(id)
	if errors.Is(err, index.ErrNotFound) {
		return errf(404, apiv1.CodeNotFound, "no token "+id)
	}
	if err != nil {
		return err
	}
	// A link whose maker is gone opens nothing (CheckLink); deleting the
	// records is tidiness.
	return t.revokeLinksOf(id)
}

// ByID returns the token record of an ID (no secret needed: a dashboard
// session knows its token by ID); errBadToken when it is unknown, revoked
// or a link.
func (t *Tokens) ByID(id string) (Token, error) {
	var tok Token
	found := false
	err := t.store.Tokens(func(tid string, rec []byte) error {
		if tid == id {
			found = true
			return json.Unmarshal(rec, &tok)
		}
		return nil
	})
	if err != nil || !found || tok.Role == roleLink {
		return Token{}, errBadToken
	}
	tok.Hash = ""
	return tok, nil
}
