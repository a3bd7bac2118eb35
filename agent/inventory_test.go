package agent_test

import (
	"os"
	"reflect"
	"testing"

	"github.com/shadowvault/shadowvault/agent"
	"github.com/shadowvault/shadowvault/apiv1"
)

// The files in testdata are in the shapes ConvertTo-Json gives
// HyperVScript's objects: an array, with a byte order mark and CRLF; a lone
// VM as an object; a one-disk list as a string, none as null or []; a state
// as its name or, unconverted, its number.
func TestParseHyperV(t *testing.T) {
	for file, want := range map[string][]apiv1.InventoryVM{
		"getvm-three.json": {
			{Name: "SQL02", ID: "5c3e0d7a-2a7b-4c39-9d0e-6f1f0a6f3b21", State: "running", Disks: []apiv1.InventoryDisk{{Path: `D:\VMs\SQL02\disk0.vhdx`}, {Path: `D:\VMs\SQL02\logs.vhdx`}}},
			{Name: "DC01", ID: "0b8c3f8e-4d0e-4f57-a3a4-5bd1e2a1c9f0", State: "off", Disks: []apiv1.InventoryDisk{{Path: `C:\ClusterStorage\Volume1\DC01\DC01.vhdx`}}},
			{Name: "EMPTY", ID: "e1a5b7c2-0000-4000-8000-000000000001", State: "saved", Disks: []apiv1.InventoryDisk{}},
		},
		"getvm-one.json": {
			{Name: "WEB01", ID: "7f0e2c1a-9b3d-4e6f-8a2b-1c0d9e8f7a6b", State: "running", Disks: []apiv1.InventoryDisk{}},
		},
	} {
		data, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := agent.ParseHyperV(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", file, got, want)
		}
	}
	if got, err := agent.ParseHyperV([]byte("\r\n")); err != nil || len(got) != 0 {
		t.Errorf("no VMs: %v %v", got, err)
	}
	for _, bad := range []string{`[{"Id":"x"}]`, `{"Name":"A","Disks":{"x":1}}`, `not json`} {
		if _, err := agent.ParseHyperV([]byte(bad)); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}
