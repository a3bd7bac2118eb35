package api

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/guestfs"
	"github.com/shadowvault/shadowvault/receipt"
	"github.com/shadowvault/shadowvault/repo"
)

// fill sets every field of the value v points to, recursively, to a value
// of its own (strings, numbers, true, two-element slices, one-entry maps),
// so that an encoding shows every field and its place. Without leaves it
// makes the slices, maps and pointers only, and leaves every string,
// number and bool zero, to show what omitempty leaves out.
func fill(t *testing.T, v any, leaves bool) {
	t.Helper()
	n := 0
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		n++
		switch v.Kind() {
		case reflect.String, reflect.Int, reflect.Int64, reflect.Uint8, reflect.Float64, reflect.Bool:
			if !leaves {
				return
			}
		}
		switch {
		case v.Type() == reflect.TypeFor[json.RawMessage]():
			v.SetBytes([]byte(`[{"name":"writer","n":` + strconv.Itoa(n) + `}]`))
			return
		case v.Type() == reflect.TypeFor[time.Time]():
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, n, time.UTC)))
			return
		}
		switch v.Kind() {
		case reflect.String:
			v.SetString("s<" + string(rune('a'+n%26)) + ">&")
		case reflect.Int, reflect.Int64:
			v.SetInt(int64(n) << 33)
		case reflect.Uint8:
			v.SetUint(uint64(n))
		case reflect.Float64:
			v.SetFloat(float64(n) + 0.25)
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			for i := range 2 {
				walk(v.Index(i))
			}
		case reflect.Map:
			m := reflect.MakeMap(v.Type())
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			walk(k)
			walk(e)
			m.SetMapIndex(k, e)
			v.Set(m)
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			walk(v.Elem())
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Interface:
			// left nil: set by the caller
		default:
			t.Fatalf("fill: %s", v.Type())
		}
	}
	walk(reflect.ValueOf(v).Elem())
}

// sameJSON checks that a record and its API v1 body encode alike.
func sameJSON(t *testing.T, what string, record, wire any) {
	t.Helper()
	a, err := json.Marshal(record)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(wire)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("%s: the API body differs from the record:\n%s\nwant:\n%s", what, b, a)
	}
}

// TestWireMatchesRecords: every answer the server makes of a stored record
// encodes exactly as the record does, filled and empty.
func TestWireMatchesRecords(t *testing.T) {
	for _, mode := range []string{"filled", "empty leaves", "zero"} {
		t.Run(mode, func(t *testing.T) {
			var m repo.Manifest
			var p repo.Policy
			var fr repo.ForgetResult
			var cr repo.CheckResult
			var st repo.RebuildStats
			var ss []repo.SessionSummary
			var parts []guestfs.Partition
			var entries []guestfs.Entry
			jobs := make([]repo.JobStatus, 3)
			if mode != "zero" {
				for _, v := range []any{&m, &p, &fr, &cr, &st, &ss, &parts, &entries, &jobs} {
					fill(t, v, mode == "filled")
				}
				var pr repo.PruneResult
				fill(t, &pr, mode == "filled")
				jobs[0].LastResult, jobs[1].LastResult = pr, cr
			}
			sameJSON(t, "manifest", m, snapshotToWire(&m))
			// A list entry was this struct of the manifest's fields.
			type summary struct {
				ID           string              `json:"id"`
				Host         string              `json:"host"`
				VM           string              `json:"vm"`
				Time         string              `json:"time"`
				BackupType   receipt.BackupType  `json:"backup_type"`
				Consistency  receipt.Consistency `json:"consistency"`
				LogicalBytes int64               `json:"logical_bytes"`
				Disks        []repo.ManifestDisk `json:"disks"`
				// The receipt's Object Lock date, when it has one.
				ImmutableUntil string `json:"immutable_until,omitempty"`
			}
			want := summary{
				ID: m.ID, Host: m.Host, VM: m.VM, Time: m.Time.Format("2006-01-02T15:04:05Z07:00"),
				BackupType: m.BackupType, Consistency: m.Consistency, LogicalBytes: m.LogicalBytes(), Disks: m.Disks,
			}
			if t := m.Receipt.ImmutableUntil; !t.IsZero() {
				want.ImmutableUntil = t.Format("2006-01-02T15:04:05Z07:00")
			}
			sameJSON(t, "snapshot summary", want, snapshotSummaryToWire(&m))
			sameJSON(t, "policy", p, policyToWire(p))
			if got := policyFromWire(policyToWire(p)); got != p {
				t.Errorf("policy %+v comes back as %+v", p, got)
			}
			sameJSON(t, "forget result", fr, forgetResultToWire(fr))
			sameJSON(t, "check result", cr, checkResultToWire(cr))
			sameJSON(t, "rebuild", st, RebuildResult(st))
			sameJSON(t, "sessions", ss, sessionsToWire(ss))
			sameJSON(t, "partitions", parts, partitionsToWire(parts))
			sameJSON(t, "entries", entries, dirEntriesToWire(entries))
			sameJSON(t, "jobs", jobs, jobsToWire(jobs))
		})
	}
}

// TestForgetRequestFromWire: the request a client sends reaches the
// repository whole, with or without a policy.
func TestForgetRequestFromWire(t *testing.T) {
	var req repo.ForgetRequest
	fill(t, &req, true)
	data, _ := json.Marshal(req)
	var wire apiv1.ForgetRequest
	if err := json.Unmarshal(data, &wire); err != nil {
		t.Fatal(err)
	}
	if got := forgetFromWire(wire); !reflect.DeepEqual(got, req) {
		t.Fatalf("forget request %+v arrives as %+v", req, got)
	}
	if got := forgetFromWire(apiv1.ForgetRequest{DryRun: true}); got.Policy != nil || !got.DryRun {
		t.Fatalf("no policy: %+v", got)
	}
}

// TestTokenRecord: a stored token record keeps the form of the records
// already in indexes and backends, so that they still load.
func TestTokenRecord(t *testing.T) {
	const old = `{"id":"a1b2c3d4e5f6","role":"agent","host":"HV01","created":"2026-01-02T03:04:05.000000006Z","hash":"00ff"}`
	var tok Token
	if err := json.Unmarshal([]byte(old), &tok); err != nil {
		t.Fatal(err)
	}
	if tok.ID != "a1b2c3d4e5f6" || tok.Role != apiv1.RoleAgent || tok.Host != "HV01" || tok.Hash != "00ff" {
		t.Fatalf("record read as %+v", tok)
	}
	if b, _ := json.Marshal(tok); string(b) != old {
		t.Fatalf("record written as %s, want %s", b, old)
	}
	tok.Hash, tok.Host = "", ""
	if b, _ := json.Marshal(tok); string(b) != `{"id":"a1b2c3d4e5f6","role":"agent","created":"2026-01-02T03:04:05.000000006Z"}` {
		t.Fatalf("without hash and host: %s", b)
	}
}
