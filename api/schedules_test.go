package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/internal/testserver"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func doJSON(t *testing.T, s *testserver.Server, token, method, path, body string, out any) error {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return s.Client(token).Do(context.Background(), method, path, r, int64(len(body)), out)
}

func TestScheduleCRUD(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	for name, body := range map[string]string{
		"b-nightly": `{"hosts":"HV*","vms":"SQL*","window":{"days":["mon","fri"],"start":"22:00","end":"04:00","time_zone":"Europe/Berlin"},"incremental":true}`,
		"a-often":   `{"hosts":"*","vms":"*","interval":"6h","backup_type":"copy","enabled":false}`,
	} {
		var got apiv1.Schedule
		if err := doJSON(t, s, "", "PUT", "/api/v1/schedules/"+name, body, &got); err != nil {
			t.Fatalf("put %s: %v", name, err)
		}
		if got.Name != name {
			t.Errorf("put %s answered %+v", name, got)
		}
	}
	var list apiv1.ScheduleList
	if err := doJSON(t, s, "", "GET", "/api/v1/schedules", "", &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Schedules) != 2 || list.Schedules[0].Name != "a-often" || list.Schedules[1].Name != "b-nightly" {
		t.Fatalf("list %+v, want a-often then b-nightly", list)
	}
	n := list.Schedules[1]
	// Absent, backup_type is full and enabled is true; given, they stay.
	if n.BackupType != apiv1.BackupFull || !n.Enabled || !n.Incremental || n.Window == nil || n.Window.TimeZone != "Europe/Berlin" {
		t.Errorf("b-nightly stored as %+v", n)
	}
	if o := list.Schedules[0]; o.BackupType != apiv1.BackupCopy || o.Enabled || o.Interval != "6h" {
		t.Errorf("a-often stored as %+v", o)
	}
	var one apiv1.Schedule
	if err := doJSON(t, s, "", "GET", "/api/v1/schedules/b-nightly", "", &one); err != nil || one.Window.Start != "22:00" {
		t.Fatalf("get: %+v %v", one, err)
	}
	if st, _ := call(t, s, "DELETE", "/api/v1/schedules/a-often", s.AdminToken, nil); st != 200 {
		t.Fatalf("delete: %d", st)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if st, code := call(t, s, m, "/api/v1/schedules/a-often", s.AdminToken, nil); st != 404 || code != "NOT_FOUND" {
			t.Errorf("%s after delete: %d %s", m, st, code)
		}
	}
}

func TestScheduleRefused(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	if err := doJSON(t, s, "", "PUT", "/api/v1/policies/sql", `{"keep_last":3}`, nil); err != nil {
		t.Fatal(err)
	}
	win := func(w string) string { return `{"hosts":"*","vms":"*","window":` + w + `}` }
	for _, c := range []struct{ name, body, code string }{
		{"neither", `{"hosts":"*","vms":"*"}`, "BAD_SCHEDULE"},
		{"both", `{"hosts":"*","vms":"*","interval":"6h","window":{"start":"22:00","end":"04:00"}}`, "BAD_SCHEDULE"},
		{"bad glob", `{"hosts":"[","vms":"*","interval":"6h"}`, "BAD_SCHEDULE"},
		{"bad start", win(`{"start":"25:00","end":"04:00"}`), "BAD_SCHEDULE"},
		{"bad end", win(`{"start":"22:00","end":"4"}`), "BAD_SCHEDULE"},
		{"bad day", win(`{"start":"22:00","end":"04:00","days":["funday"]}`), "BAD_SCHEDULE"},
		{"bad zone", win(`{"start":"22:00","end":"04:00","time_zone":"Europe/Atlantis"}`), "BAD_SCHEDULE"},
		{"bad interval", `{"hosts":"*","vms":"*","interval":"daily"}`, "BAD_SCHEDULE"},
		{"bad type", `{"hosts":"*","vms":"*","interval":"6h","backup_type":"diff"}`, "BAD_SCHEDULE"},
		{"unknown policy", `{"hosts":"*","vms":"*","interval":"6h","policy":"nope"}`, "UNKNOWN_POLICY"},
		{"unknown field", `{"hosts":"*","vms":"*","interval":"6h","when":"now"}`, "BAD_REQUEST"},
	} {
		if st, code := call(t, s, "PUT", "/api/v1/schedules/x", s.AdminToken, strings.NewReader(c.body)); st != 400 || code != c.code {
			t.Errorf("%s: %d %s, want 400 %s", c.name, st, code, c.code)
		}
	}
	if st, code := call(t, s, "PUT", "/api/v1/schedules/.x", s.AdminToken, strings.NewReader(`{"interval":"6h"}`)); st != 400 || code != "BAD_NAME" {
		t.Errorf("bad name: %d %s", st, code)
	}
	var list apiv1.ScheduleList
	if err := doJSON(t, s, "", "GET", "/api/v1/schedules", "", &list); err != nil || len(list.Schedules) != 0 {
		t.Fatalf("refused schedules were stored: %+v %v", list, err)
	}
	if st, _ := call(t, s, "PUT", "/api/v1/schedules/ok", s.AdminToken, strings.NewReader(`{"hosts":"*","vms":"*","interval":"6h","policy":"sql"}`)); st != 200 {
		t.Errorf("a schedule naming a stored policy: %d", st)
	}
}

func inventoryBody(vms int, disks int, pathLen int) string {
	var b strings.Builder
	b.WriteString(`{"vms":[`)
	for i := range vms {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"name":"VM%d","id":"","state":"running","disks":[`, i)
		for k := range disks {
			if k > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"path":"D:\\VMs\\%s%d.vhdx"}`, strings.Repeat("p", pathLen), k)
		}
		b.WriteString("]}")
	}
	b.WriteString("]}")
	return b.String()
}

func TestInventoryLimitsAndScope(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	_, hv01, _ := s.Tokens.Create("agent", "HV01")
	_, rest, _ := s.Tokens.Create("restore", "HV02")
	for _, c := range []struct {
		name string
		body string
		st   int
		code string
	}{
		{"at the VM limit", inventoryBody(apiv1.MaxInventoryVMs, 1, 1), 200, ""},
		{"one VM too many", inventoryBody(apiv1.MaxInventoryVMs+1, 1, 1), 400, "INVENTORY_TOO_LARGE"},
		{"at the disk limit", inventoryBody(1, apiv1.MaxInventoryDisks, 1), 200, ""},
		{"one disk too many", inventoryBody(1, apiv1.MaxInventoryDisks+1, 1), 400, "INVENTORY_TOO_LARGE"},
		{"path too long", inventoryBody(1, 1, apiv1.MaxInventoryPath), 400, "INVENTORY_TOO_LARGE"},
		{"VM twice", `{"vms":[{"name":"A","disks":[]},{"name":"A","disks":[]}]}`, 400, "BAD_REQUEST"},
		{"bad VM name", `{"vms":[{"name":"a/b","disks":[]}]}`, 400, "BAD_NAME"},
		{"disk without path", `{"vms":[{"name":"A","disks":[{"path":""}]}]}`, 400, "BAD_REQUEST"},
	} {
		if st, code := call(t, s, "PUT", "/api/v1/hosts/HV01/inventory", hv01, strings.NewReader(c.body)); st != c.st || code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, st, code, c.st, c.code)
		}
	}
	if st, code := call(t, s, "PUT", "/api/v1/hosts/HV02/inventory", hv01, strings.NewReader(`{"vms":[]}`)); st != 403 || code != "FORBIDDEN" {
		t.Errorf("HV01's agent reported HV02: %d %s", st, code)
	}
	if st, _ := call(t, s, "PUT", "/api/v1/hosts/HV02/inventory", s.AdminToken, strings.NewReader(`{"vms":[{"name":"X","disks":[]}]}`)); st != 200 {
		t.Errorf("admin reported HV02: %d", st)
	}
	var all, mine apiv1.InventoryList
	if err := doJSON(t, s, "", "GET", "/api/v1/inventory", "", &all); err != nil || len(all.Hosts) != 2 || all.Hosts[0].Host != "HV01" || len(all.Hosts[1].VMs) != 1 {
		t.Fatalf("inventory: %+v %v", all.Hosts, err)
	}
	if err := doJSON(t, s, rest, "GET", "/api/v1/inventory", "", &mine); err != nil || len(mine.Hosts) != 1 || mine.Hosts[0].Host != "HV02" {
		t.Fatalf("HV02's restore token saw %+v %v", mine.Hosts, err)
	}
}

// TestPlanStatusMetrics drives one night on a fake clock: a VM is due in
// its window until it has a snapshot, the plan names the inventory's disks,
// a host's agent sees only its own plan, and after the window the VM
// without a backup is missed (first in the status, 1 in /metrics) while
// the one backed up is not.
func TestPlanStatusMetrics(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 6, 10, 20, 0, 0, 0, time.UTC)}
	s := testserver.Start(t, testserver.Options{Now: clock.Now})
	_, hv01, _ := s.Tokens.Create("agent", "HV01")
	dir := t.TempDir()
	disk := writeDisk(t, dir, "disk0.raw", random(200000))
	inv := fmt.Sprintf(`{"vms":[{"name":"SQL01","id":"1","state":"running","disks":[{"path":%q}]},{"name":"SQL02","id":"2","state":"off","disks":[{"path":"D:\\VMs\\SQL02.vhdx"}]},{"name":"WEB","disks":[]},{"name":"SQL03","disks":[]}]}`, disk)
	if err := doJSON(t, s, hv01, "PUT", "/api/v1/hosts/HV01/inventory", inv, nil); err != nil {
		t.Fatal(err)
	}
	sched := `{"hosts":"HV*","vms":"SQL*","window":{"start":"22:00","end":"04:00","time_zone":"UTC"},"incremental":true}`
	if err := doJSON(t, s, "", "PUT", "/api/v1/schedules/nightly", sched, nil); err != nil {
		t.Fatal(err)
	}
	plan := func() apiv1.Plan {
		t.Helper()
		var p apiv1.Plan
		if err := doJSON(t, s, hv01, "GET", "/api/v1/plan?host=HV01", "", &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := plan(); len(p.Due) != 0 || p.NextPollSeconds != 300 {
		t.Fatalf("before the window: %+v", p)
	}
	if st, code := call(t, s, "GET", "/api/v1/plan?host=HV02", hv01, nil); st != 403 || code != "FORBIDDEN" {
		t.Errorf("HV01 asked for HV02's plan: %d %s", st, code)
	}
	if st, code := call(t, s, "GET", "/api/v1/plan", hv01, nil); st != 400 || code != "BAD_NAME" {
		t.Errorf("a plan without host: %d %s", st, code)
	}
	clock.Set(time.Date(2026, 6, 10, 22, 30, 0, 0, time.UTC))
	p := plan()
	if len(p.Due) != 2 || p.Due[0].VM != "SQL01" || p.Due[1].VM != "SQL02" {
		t.Fatalf("in the window: %+v", p)
	}
	if d := p.Due[0]; len(d.Disks) != 1 || d.Disks[0] != disk || !d.Incremental || d.BackupType != apiv1.BackupFull ||
		!d.NotAfter.Equal(time.Date(2026, 6, 11, 4, 0, 0, 0, time.UTC)) || d.Schedule != "nightly" {
		t.Errorf("due item %+v", d)
	}
	backup(t, s, "HV01", "SQL01", disk)
	if p := plan(); len(p.Due) != 1 || p.Due[0].VM != "SQL02" {
		t.Fatalf("after SQL01's backup: %+v", p)
	}
	clock.Set(time.Date(2026, 6, 11, 5, 0, 0, 0, time.UTC))
	var st apiv1.ScheduleStatusList
	if err := doJSON(t, s, "", "GET", "/api/v1/schedules/status", "", &st); err != nil {
		t.Fatal(err)
	}
	// SQL03 has no disk to back up, so it is never in a plan, and missed.
	if len(st.VMs) != 3 || st.VMs[0].VM != "SQL02" || !st.VMs[0].Missed || st.VMs[1].VM != "SQL03" || !st.VMs[1].Missed ||
		st.VMs[2].VM != "SQL01" || st.VMs[2].Missed {
		t.Fatalf("status %+v", st.VMs)
	}
	if r := st.VMs[2]; r.LastSuccess == nil || !r.LastSuccess.Equal(time.Date(2026, 6, 10, 22, 30, 0, 0, time.UTC)) ||
		!r.WindowStart.Equal(time.Date(2026, 6, 10, 22, 0, 0, 0, time.UTC)) || !r.NextDue.Equal(time.Date(2026, 6, 11, 22, 0, 0, 0, time.UTC)) {
		t.Errorf("SQL01's row %+v", r)
	}
	resp, err := httpGet(s, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	end := time.Date(2026, 6, 11, 4, 0, 0, 0, time.UTC).Unix()
	for _, want := range []string{
		`shadowvault_schedule_missed{host="HV01",schedule="nightly",vm="SQL02"} 1`,
		`shadowvault_schedule_missed{host="HV01",schedule="nightly",vm="SQL01"} 0`,
		`shadowvault_schedule_window_end_timestamp_seconds{host="HV01",schedule="nightly",vm="SQL01"} ` + strconv.FormatFloat(float64(end), 'g', -1, 64),
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/metrics: %d", resp.StatusCode)
	}
}

// TestScheduleStatusLastFailure: a scheduled VM whose backup failed shows
// the failure's time in the status, also a VM that never had a good
// backup (it is then missed once its window ended).
func TestScheduleStatusLastFailure(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	if err := doJSON(t, s, "", "PUT", "/api/v1/schedules/nightly", `{"hosts":"HV01","vms":"*","interval":"24h"}`, nil); err != nil {
		t.Fatal(err)
	}
	backup(t, s, "HV01", "GOOD", writeDisk(t, t.TempDir(), "disk0.raw", random(100000)))
	// An upload that is not the VHDX it says it is fails.
	id := openSession(t, s, "HV01", "BROKEN")
	if st, code := call(t, s, "PUT", "/api/v1/sessions/"+id+"/disks/disk0.vhdx?format=vhdx", s.AdminToken, bytes.NewReader(random(1<<20))); st != 400 {
		t.Fatalf("garbage as VHDX: %d %s", st, code)
	}
	if st, code := call(t, s, "POST", "/api/v1/sessions/"+id+"/abort", s.AdminToken, nil); st >= 300 {
		t.Fatalf("abort: %d %s", st, code)
	}
	var st apiv1.ScheduleStatusList
	if err := doJSON(t, s, "", "GET", "/api/v1/schedules/status", "", &st); err != nil {
		t.Fatal(err)
	}
	rows := map[string]apiv1.ScheduleStatus{}
	for _, r := range st.VMs {
		rows[r.VM] = r
	}
	if r, ok := rows["BROKEN"]; !ok || r.LastFailure == nil || r.LastSuccess != nil || !r.Missed {
		t.Fatalf("the failed VM's row: %+v (present %v)", r, ok)
	}
	if r := rows["GOOD"]; r.LastFailure != nil || r.LastSuccess == nil || r.Missed {
		t.Fatalf("the good VM's row: %+v", r)
	}
}
