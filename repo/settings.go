package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shadowvault/shadowvault/chunk"
	"github.com/shadowvault/shadowvault/index"
	"github.com/shadowvault/shadowvault/repo/backend"
)

// API tokens (their records, with hashed secrets) and retention policies
// live in the index, and a copy of each in the backend, so that a rebuilt
// index gets them back. The index is the authority: a change goes to the
// backend first and then to the index (a revoked token is gone from the
// backend before the index stops accepting it, so no rebuild revives it);
// at every start what the index holds and the backend lacks is stored
// there again.

// settingsTimeout bounds one backend write of a token or policy.
const settingsTimeout = time.Minute

func tokenHandle(id string) backend.Handle { return backend.Handle{Type: backend.TypeToken, Name: id} }

func policyHandle(name string) backend.Handle {
	return backend.Handle{Type: backend.TypePolicy, Name: chunk.Sum([]byte(name)).String()}
}

// storedPolicy is a policy object in the backend.
type storedPolicy struct {
	Name   string          `json:"name"`
	Policy json.RawMessage `json:"policy"`
}

func (r *Repository) putObject(h backend.Handle, data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), settingsTimeout)
	defer cancel()
	return r.be.Put(ctx, h, bytes.NewReader(data), int64(len(data)))
}

func (r *Repository) removeObject(h backend.Handle) error {
	ctx, cancel := context.WithTimeout(context.Background(), settingsTimeout)
	defer cancel()
	return r.be.Remove(ctx, h)
}

// PutToken stores a token record, in the backend and then the index.
func (r *Repository) PutToken(id string, record []byte) error {
	if err := r.putObject(tokenHandle(id), record); err != nil {
		return fmt.Errorf("store token %s: %w", id, err)
	}
	return r.idx.PutToken(id, record)
}

// DeleteToken removes a token record, from the backend and then the index.
func (r *Repository) DeleteToken(id string) error {
	found := false
	if err := r.idx.Tokens(func(k string, _ []byte) error { found = found || k == id; return nil }); err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("token %s: %w", id, index.ErrNotFound)
	}
	if err := r.removeObject(tokenHandle(id)); err != nil {
		return fmt.Errorf("remove token %s: %w", id, err)
	}
	return r.idx.DeleteToken(id)
}

// Tokens calls fn with every token record.
func (r *Repository) Tokens(fn func(id string, record []byte) error) error { return r.idx.Tokens(fn) }

// PutPolicy stores a named retention policy, in the backend and then the
// index.
func (r *Repository) PutPolicy(name string, p Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	b, _ := json.Marshal(p)
	obj, _ := json.Marshal(storedPolicy{Name: name, Policy: b})
	if err := r.putObject(policyHandle(name), obj); err != nil {
		return fmt.Errorf("store policy %s: %w", name, err)
	}
	return r.idx.PutPolicy(name, b)
}

// DeletePolicy removes a stored policy, from the backend and then the index.
func (r *Repository) DeletePolicy(name string) error {
	if _, ok, err := r.policyRecord(name); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("policy %s: %w", name, index.ErrNotFound)
		}
		return err
	}
	if err := r.removeObject(policyHandle(name)); err != nil {
		return fmt.Errorf("remove policy %s: %w", name, err)
	}
	return r.idx.DeletePolicy(name)
}

func (r *Repository) policyRecord(name string) ([]byte, bool, error) {
	var rec []byte
	err := r.idx.Policies(func(n string, v []byte) error {
		if n == name {
			rec = append([]byte(nil), v...)
		}
		return nil
	})
	return rec, rec != nil, err
}

// settingsInBackend reads every token and policy object of the backend.
func (r *Repository) settingsInBackend(ctx context.Context) (tokens map[string][]byte, policies map[string][]byte, err error) {
	tokens, policies = map[string][]byte{}, map[string][]byte{}
	for _, t := range []backend.Type{backend.TypeToken, backend.TypePolicy} {
		err := r.be.List(ctx, t, func(fi backend.ObjectInfo) error {
			data, err := readObject(ctx, r.be, fi)
			if errors.Is(err, backend.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if t == backend.TypeToken {
				tokens[fi.Handle.Name] = data
				return nil
			}
			var sp storedPolicy
			if json.Unmarshal(data, &sp) != nil || sp.Name == "" || policyHandle(sp.Name) != fi.Handle {
				r.log.Warn("skipping a damaged policy object", "object", fi.Handle.String())
				return nil
			}
			policies[sp.Name] = sp.Policy
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("list %s: %w", t, err)
		}
	}
	return tokens, policies, nil
}

// syncSettings stores in the backend every token and policy of the index
// it lacks (index to backend), and with restore set also the other way:
// what the backend holds and the index lacks goes into the index (after a
// rebuild of a lost index).
func (r *Repository) syncSettings(ctx context.Context, restore bool) (restoredTokens, restoredPolicies int, err error) {
	tokens, policies, err := r.settingsInBackend(ctx)
	if err != nil {
		return 0, 0, err
	}
	inIndex := map[string]bool{}
	err = r.idx.Tokens(func(id string, rec []byte) error {
		inIndex[id] = true
		if _, ok := tokens[id]; !ok {
			return r.putObject(tokenHandle(id), rec)
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store tokens: %w", err)
	}
	if restore {
		for id, rec := range tokens {
			if !inIndex[id] {
				if err := r.idx.PutToken(id, rec); err != nil {
					return restoredTokens, 0, err
				}
				restoredTokens++
			}
		}
	}
	clear(inIndex)
	err = r.idx.Policies(func(name string, rec []byte) error {
		inIndex[name] = true
		if _, ok := policies[name]; !ok {
			obj, _ := json.Marshal(storedPolicy{Name: name, Policy: rec})
			return r.putObject(policyHandle(name), obj)
		}
		return nil
	})
	if err != nil {
		return restoredTokens, 0, fmt.Errorf("store policies: %w", err)
	}
	if restore {
		for name, rec := range policies {
			if !inIndex[name] {
				if err := r.idx.PutPolicy(name, rec); err != nil {
					return restoredTokens, restoredPolicies, err
				}
				restoredPolicies++
			}
		}
	}
	return restoredTokens, restoredPolicies, nil
}
