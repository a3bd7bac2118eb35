package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/shadowvault/shadowvault/apiv1"
)

// ErrNoHyperV is the inventory of a system without Hyper-V's PowerShell
// module (any system but Windows): give the inventory in a file.
var ErrNoHyperV = errors.New("no Hyper-V on this system: give the VMs with --inventory-file")

// HyperVScript lists the host's VMs and their disk files as JSON; the
// agent runs it with powershell.exe and parses it with ParseHyperV.
const HyperVScript = `Get-VM | ForEach-Object { [pscustomobject]@{ Name = $_.Name; Id = $_.Id.ToString(); State = $_.State.ToString(); ` +
	`Disks = @($_ | Get-VMHardDiskDrive | Where-Object { $_.Path } | ForEach-Object { $_.Path }) } } | ConvertTo-Json -Depth 4 -Compress`

// hyperVVM is one object of HyperVScript's output. ConvertTo-Json writes a
// lone VM as an object rather than an array, and a one-element or empty
// Disks as a string or null on older PowerShell: ParseHyperV takes each.
type hyperVVM struct {
	Name  string          `json:"Name"`
	ID    string          `json:"Id"`
	State json.RawMessage `json:"State"`
	Disks json.RawMessage `json:"Disks"`
}

// ParseHyperV reads HyperVScript's output.
func ParseHyperV(out []byte) ([]apiv1.InventoryVM, error) {
	s := strings.TrimSpace(strings.TrimPrefix(string(out), "\uFEFF"))
	if s == "" {
		return []apiv1.InventoryVM{}, nil
	}
	var list []hyperVVM
	if strings.HasPrefix(s, "{") {
		var one hyperVVM
		if err := json.Unmarshal([]byte(s), &one); err != nil {
			return nil, fmt.Errorf("Hyper-V VM list: %w", err)
		}
		list = []hyperVVM{one}
	} else if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, fmt.Errorf("Hyper-V VM list: %w", err)
	}
	vms := make([]apiv1.InventoryVM, 0, len(list))
	for _, v := range list {
		if v.Name == "" {
			return nil, errors.New("Hyper-V VM list: a VM without a name")
		}
		vm := apiv1.InventoryVM{Name: v.Name, ID: v.ID, State: stateString(v.State), Disks: []apiv1.InventoryDisk{}}
		paths, err := stringOrList(v.Disks)
		if err != nil {
			return nil, fmt.Errorf("Hyper-V VM list: disks of %s: %w", v.Name, err)
		}
		for _, p := range paths {
			vm.Disks = append(vm.Disks, apiv1.InventoryDisk{Path: p})
		}
		vms = append(vms, vm)
	}
	return vms, nil
}

// stateString is a VM state written as a string ("Running"), or as
// PowerShell's number of the enum when it was not converted (2: running,
// 3: off).
func stateString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.ToLower(s)
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		switch n {
		case 2:
			return "running"
		case 3:
			return "off"
		case 6:
			return "saved"
		case 9:
			return "paused"
		}
		return fmt.Sprintf("state %d", n)
	}
	return ""
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// InventoryFile returns an inventory read from a JSON file in the form of
// PUT /api/v1/hosts/{host}/inventory ({"vms":[...]}), read again each
// time, so that an edited file is reported at the next round.
func InventoryFile(path string) func(context.Context) ([]apiv1.InventoryVM, error) {
	return func(context.Context) ([]apiv1.InventoryVM, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("inventory file: %w", err)
		}
		var rep apiv1.InventoryReport
		if err := json.Unmarshal(data, &rep); err != nil {
			return nil, fmt.Errorf("inventory file %s: %w", path, err)
		}
		return rep.VMs, nil
	}
}

// HyperVInventory finds the host's VMs with HyperVScript (Windows; on
// other systems it returns ErrNoHyperV).
func HyperVInventory(ctx context.Context) ([]apiv1.InventoryVM, error) {
	out, err := runHyperVScript(ctx)
	if err != nil {
		return nil, err
	}
	return ParseHyperV(out)
}
