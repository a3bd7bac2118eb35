package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/index"
)

// Links are kept with the tokens (so the backend has a copy, and a
// revocation reaches it first): a record with the role roleLink, the disk
// it opens, its expiry and the SHA-256 of its secret. The secret has the
// form svl_<id>_<hex>, which no token check accepts.

// roleLink is the role of a request authenticated by a link. It is no
// token role: no token can be created with it, and only the restore route
// admits it.
const roleLink apiv1.Role = "link"

// linkPrefix starts a link's secret.
const linkPrefix = "svl"

// linkRecord is a stored link.
type linkRecord struct {
	apiv1.Link
	Role apiv1.Role `json:"role"`
	Hash string     `json:"hash"`
}

var (
	errBadLink     = errors.New("invalid or revoked link")
	errExpiredLink = errors.New("link expired")
)

// CreateLink makes a link to one snapshot disk in one format for the token
// by, valid for life, and returns it with its secret.
func (t *Tokens) CreateLink(by Token, snapshot, host, disk, format string, life time.Duration) (apiv1.Link, string, error) {
	t.purgeExpiredLinks()
	idb := make([]byte, 6)
	secret := make([]byte, 24)
	if _, err := rand.Read(idb); err != nil {
		return apiv1.Link{}, "", err
	}
	if _, err := rand.Read(secret); err != nil {
		return apiv1.Link{}, "", err
	}
	id := "l" + hex.EncodeToString(idb)
	plain := linkPrefix + "_" + id + "_" + hex.EncodeToString(secret)
	sum := sha256.Sum256([]byte(plain))
	now := time.Now().UTC()
	rec := linkRecord{
		Link: apiv1.Link{ID: id, Snapshot: snapshot, Disk: disk, Format: format, Host: host,
			Created: now, Expires: now.Add(life), CreatedBy: by.ID},
		Role: roleLink, Hash: hex.EncodeToString(sum[:]),
	}
	b, _ := json.Marshal(rec)
	if err := t.store.PutToken(id, b); err != nil {
		return apiv1.Link{}, "", err
	}
	return rec.Link, plain, nil
}

// CheckLink returns the link a presented secret opens: errExpiredLink once
// it expired, errBadLink when it is unknown, revoked, or the token that
// made it was revoked.
func (t *Tokens) CheckLink(plain string, now time.Time) (apiv1.Link, error) {
	parts := strings.Split(plain, "_")
	if len(parts) != 3 || parts[0] != linkPrefix {
		return apiv1.Link{}, errBadLink
	}
	var rec linkRecord
	found, creator := false, false
	err := t.store.Tokens(func(id string, b []byte) error {
		if id == parts[1] {
			found = true
			return json.Unmarshal(b, &rec)
		}
		return nil
	})
	if err != nil || !found || rec.Role != roleLink {
		return apiv1.Link{}, errBadLink
	}
	sum := sha256.Sum256([]byte(plain))
	want, err := hex.DecodeString(rec.Hash)
	if err != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return apiv1.Link{}, errBadLink
	}
	_ = t.store.Tokens(func(id string, _ []byte) error {
		creator = creator || id == rec.CreatedBy
		return nil
	})
	if !creator {
		return apiv1.Link{}, errBadLink
	}
	if !now.Before(rec.Expires) {
		return apiv1.Link{}, errExpiredLink
	}
	return rec.Link, nil
}

// ListLinks returns the links that have not expired, without secrets.
func (t *Tokens) ListLinks(now time.Time) ([]apiv1.Link, error) {
	out := []apiv1.Link{}
	err := t.eachLink(func(rec linkRecord) error {
		if now.Before(rec.Expires) {
			out = append(out, rec.Link)
		}
		return nil
	})
	return out, err
}

// RevokeLink deletes a link.
func (t *Tokens) RevokeLink(id string) error {
	found := false
	if err := t.eachLink(func(rec linkRecord) error {
		found = found || rec.ID == id
		return nil
	}); err != nil {
		return err
	}
	if !found {
		return errf(404, apiv1.CodeNotFound, "no link "+id)
	}
	err := t.store.DeleteToken(id)
	if errors.Is(err, index.ErrNotFound) {
		return errf(404, apiv1.CodeNotFound, "no link "+id)
	}
	return err
}

// revokeLinksOf deletes the links a token made, once it is revoked.
func (t *Tokens) revokeLinksOf(tokenID string) error {
	var ids []string
	if err := t.eachLink(func(rec linkRecord) error {
		if rec.CreatedBy == tokenID {
			ids = append(ids, rec.ID)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, id := range ids {
		if err := t.store.DeleteToken(id); err != nil && !errors.Is(err, index.ErrNotFound) {
			return err
		}
	}
	return nil
}

// purgeExpiredLinks drops the records of expired links; a failure leaves
// them for the next time (they open nothing anyway).
func (t *Tokens) purgeExpiredLinks() {
	var ids []string
	now := time.Now()
	_ = t.eachLink(func(rec linkRecord) error {
		if !now.Before(rec.Expires) {
			ids = append(ids, rec.ID)
		}
		return nil
	})
	for _, id := range ids {
		_ = t.store.DeleteToken(id)
	}
}

// eachLink calls fn with every stored link.
func (t *Tokens) eachLink(fn func(linkRecord) error) error {
	return t.store.Tokens(func(id string, b []byte) error {
		var rec linkRecord
		if json.Unmarshal(b, &rec) != nil || rec.Role != roleLink {
			return nil
		}
		return fn(rec)
	})
}

// linkPath is the restore path a link opens, secret included.
func linkPath(l apiv1.Link, secret string) string {
	q := url.Values{"format": {l.Format}, apiv1.SignatureParam: {secret}}
	return "/api/v1/snapshots/" + url.PathEscape(l.Snapshot) + "/disks/" + url.PathEscape(l.Disk) + "?" + q.Encode()
}
