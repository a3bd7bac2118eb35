package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/shadowvault/shadowvault/apiv1"
)

// Inventories are kept in the index only: an agent reports its host's
// again at every start and every few minutes (repo/schedules.go).

// checkInventory bounds a report: 400 INVENTORY_TOO_LARGE past the limits
// of apiv1, BAD_NAME for a VM name a session could not use, BAD_REQUEST
// for a VM named twice or a disk without a path.
func checkInventory(rep apiv1.InventoryReport) error {
	if len(rep.VMs) > apiv1.MaxInventoryVMs {
		return errf(http.StatusBadRequest, apiv1.CodeInventoryLimit, fmt.Sprintf("%d VMs: at most %d", len(rep.VMs), apiv1.MaxInventoryVMs))
	}
	seen := map[string]bool{}
	for _, vm := range rep.VMs {
		if err := validName("vm", vm.Name); err != nil {
			return err
		}
		if seen[vm.Name] {
			return errf(http.StatusBadRequest, apiv1.CodeBadRequest, "VM "+vm.Name+" is listed twice")
		}
		seen[vm.Name] = true
		if len(vm.Disks) > apiv1.MaxInventoryDisks {
			return errf(http.StatusBadRequest, apiv1.CodeInventoryLimit, fmt.Sprintf("VM %s: %d disks: at most %d", vm.Name, len(vm.Disks), apiv1.MaxInventoryDisks))
		}
		if len(vm.ID) > 128 || len(vm.State) > 64 {
			return errf(http.StatusBadRequest, apiv1.CodeInventoryLimit, "VM "+vm.Name+": id or state too long")
		}
		for _, d := range vm.Disks {
			switch {
			case d.Path == "":
				return errf(http.StatusBadRequest, apiv1.CodeBadRequest, "VM "+vm.Name+": a disk without a path")
			case len(d.Path) > apiv1.MaxInventoryPath:
				return errf(http.StatusBadRequest, apiv1.CodeInventoryLimit, fmt.Sprintf("VM %s: a disk path over %d bytes", vm.Name, apiv1.MaxInventoryPath))
			}
		}
	}
	return nil
}

// putInventory stores a host's report: the host's agent, or an admin.
func (s *Server) putInventory(w http.ResponseWriter, r *http.Request) {
	host := chi.URLParam(r, "host")
	if err := validName("host", host); err != nil {
		writeError(w, r, err)
		return
	}
	if tok := caller(r); tok.Role == apiv1.RoleAgent && tok.Host != host {
		writeError(w, r, errf(http.StatusForbidden, apiv1.CodeForbidden, "this agent token may only report host "+tok.Host))
		return
	}
	var rep apiv1.InventoryReport
	if err := decodeJSON(w, r, &rep); err != nil {
		writeError(w, r, err)
		return
	}
	if err := checkInventory(rep); err != nil {
		writeError(w, r, err)
		return
	}
	if rep.VMs == nil {
		rep.VMs = []apiv1.InventoryVM{}
	}
	for i := range rep.VMs {
		if rep.VMs[i].Disks == nil {
			rep.VMs[i].Disks = []apiv1.InventoryDisk{}
		}
	}
	inv := apiv1.HostInventory{Host: host, ReportedAt: s.now().UTC().Truncate(time.Second), VMs: rep.VMs}
	rec, _ := json.Marshal(inv)
	if err := s.repo.PutInventory(host, rec); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, inv)
}

// inventories returns every host's last report, ordered by host.
func (s *Server) inventories() ([]apiv1.HostInventory, error) {
	out := []apiv1.HostInventory{}
	err := s.repo.Inventories(func(host string, rec []byte) error {
		var inv apiv1.HostInventory
		if err := json.Unmarshal(rec, &inv); err != nil {
			s.log.Warn("skipping a damaged inventory record", "host", host, "err", err)
			return nil
		}
		out = append(out, inv)
		return nil
	})
	return out, err
}

func (s *Server) listInventory(w http.ResponseWriter, r *http.Request) {
	all, err := s.inventories()
	if err != nil {
		writeError(w, r, err)
		return
	}
	if tok := caller(r); tok.Role == apiv1.RoleRestore && tok.Host != "" {
		mine := []apiv1.HostInventory{}
		for _, inv := range all {
			if inv.Host == tok.Host {
				mine = append(mine, inv)
			}
		}
		all = mine
	}
	writeJSON(w, http.StatusOK, apiv1.InventoryList{Hosts: all})
}
