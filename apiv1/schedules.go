package apiv1

import "time"

// ScheduleWindow is a daily or weekly time window in a named time zone:
// it starts at Start on each of Days (empty: every day) and ends at End,
// on the next day when End is not after Start.
type ScheduleWindow struct {
	Days     []string `json:"days,omitempty"` // mon, tue, wed, thu, fri, sat, sun
	Start    string   `json:"start"`          // HH:MM
	End      string   `json:"end"`            // HH:MM
	TimeZone string   `json:"time_zone"`      // IANA name, e.g. Europe/Berlin; empty: UTC
}

// ScheduleSpec is a backup schedule: PUT /api/v1/schedules/{name}. It
// selects hosts and VMs by shell glob and says when, with exactly one of
// Window or Interval. Policy, if set, names a stored retention policy.
// Absent, backup_type is full and enabled is true.
type ScheduleSpec struct {
	Hosts       string          `json:"hosts"`
	VMs         string          `json:"vms"`
	Window      *ScheduleWindow `json:"window,omitempty"`
	Interval    string          `json:"interval,omitempty"` // a Go duration, e.g. "6h"
	BackupType  BackupType      `json:"backup_type"`
	Incremental bool            `json:"incremental"`
	Policy      string          `json:"policy,omitempty"`
	Enabled     bool            `json:"enabled"`
}

// Schedule is a stored schedule: its spec and its name.
type Schedule struct {
	Name string `json:"name"`
	ScheduleSpec
}

// ScheduleList is the answer to GET /api/v1/schedules, sorted by name.
type ScheduleList struct {
	Schedules []Schedule `json:"schedules"`
}

// ScheduleDeleted is the answer to deleting a schedule.
type ScheduleDeleted struct {
	Deleted bool   `json:"deleted"`
	Name    string `json:"name"`
}

// ScheduleStatus is where one VM stands with a schedule that selects it.
// WindowStart is the start of the window open now, or else of the last
// one; Missed is true when the last window that should hold a backup
// ended with no successful backup of the VM in it or since.
type ScheduleStatus struct {
	Schedule    string     `json:"schedule"`
	Host        string     `json:"host"`
	VM          string     `json:"vm"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	LastFailure *time.Time `json:"last_failure,omitempty"`
	WindowStart *time.Time `json:"window_start,omitempty"`
	NextDue     *time.Time `json:"next_due,omitempty"`
	Missed      bool       `json:"missed"`
}

// ScheduleStatusList is the answer to GET /api/v1/schedules/status: one
// row per VM a schedule selects, missed ones first.
type ScheduleStatusList struct {
	VMs []ScheduleStatus `json:"vms"`
}

// Plan is the answer to GET /api/v1/plan?host=H: the backups due on the
// host now, and when to ask again.
type Plan struct {
	Host            string     `json:"host"`
	Now             time.Time  `json:"now"`
	Due             []PlanItem `json:"due"`
	NextPollSeconds int        `json:"next_poll_seconds"`
}

// PlanItem is one VM backup that is due: its disks as the host's
// inventory names them, how to back it up, and the end of its window.
type PlanItem struct {
	Schedule    string     `json:"schedule"`
	VM          string     `json:"vm"`
	Disks       []string   `json:"disks"`
	BackupType  BackupType `json:"backup_type"`
	Incremental bool       `json:"incremental"`
	NotAfter    time.Time  `json:"not_after"`
}

// Inventory limits: a report with more VMs, disks or longer strings is
// refused (400 INVENTORY_TOO_LARGE).
const (
	MaxInventoryVMs   = 1024
	MaxInventoryDisks = 64  // per VM
	MaxInventoryPath  = 512 // bytes of a disk path
)

// InventoryReport is a host's VMs: PUT /api/v1/hosts/{host}/inventory.
type InventoryReport struct {
	VMs []InventoryVM `json:"vms"`
}

// InventoryVM is a VM of a host and its disk files.
type InventoryVM struct {
	Name  string          `json:"name"`
	ID    string          `json:"id"`
	State string          `json:"state"`
	Disks []InventoryDisk `json:"disks"`
}

// InventoryDisk is one virtual disk file of a VM, a path on the host.
type InventoryDisk struct {
	Path string `json:"path"`
}

// HostInventory is a host's last inventory report.
type HostInventory struct {
	Host       string        `json:"host"`
	ReportedAt time.Time     `json:"reported_at"`
	VMs        []InventoryVM `json:"vms"`
}

// InventoryList is the answer to GET /api/v1/inventory, sorted by host.
type InventoryList struct {
	Hosts []HostInventory `json:"hosts"`
}
