package uibrowser

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// hostsAndVMs: the hosts and VMs backed up, a VM's snapshots and the policy
// that matches it (or none).
func (f *fixture) hostsAndVMs(t *testing.T) {
	s, tb, noSecret := f.s, f.tb, f.noSecret
	tb.setPhase("vms")
	var txt string
	tb.show(t, "#/vms", ".vm-link")
	tb.do(t, "vms", readText("main", &txt))
	for _, want := range []string{"HV01", "HV02", "SQL02", "FS01"} {
		if !strings.Contains(txt, want) {
			t.Errorf("hosts and VMs lack %s", want)
		}
	}
	tb.screenshot(t, "vms")
	if st, body := apiCall(t, s, "PUT", "/api/v1/policies/sql", `{"match":{"host":"HV01","vm":"SQL*"},"keep_last":3,"keep_daily":7}`); st != 200 {
		t.Fatalf("PUT a policy: %d %s", st, body)
	}
	var n int
	tb.show(t, "#/vm/HV01/SQL02", "#snapshots")
	var pol string
	tb.do(t, "policy", readText("#vm-policy", &pol))
	if !strings.Contains(pol, "sql") || !strings.Contains(pol, "last 3") || !strings.Contains(pol, "daily 7") {
		t.Errorf("SQL02's policy shows %q, want the policy sql (last 3, daily 7)", pol)
	}
	tb.do(t, "rows", eval(`document.querySelectorAll('#snapshots tbody tr').length`, &n), readText("#snapshots", &txt))
	if n != 2 || !strings.Contains(txt, "copy") || !strings.Contains(txt, "application") {
		t.Errorf("SQL02 shows %d snapshots, want 2 (a full and a copy): %q", n, txt)
	}
	tb.screenshot(t, "vm")
	tb.show(t, "#/vm/HV02/FS01", "#snapshots")
	tb.do(t, "no policy", readText("#vm-policy", &pol))
	if !strings.Contains(pol, "none") {
		t.Errorf("FS01, which no policy matches, shows the policy %q", pol)
	}
	noSecret(t, "vm")
}

// snapshotPage: the disks with restore links in each format, the receipt, and
// the original file downloaded byte for byte.
func (f *fixture) snapshotPage(t *testing.T) {
	tb, snap, img, downloads := f.tb, f.snap, f.img, f.downloads
	tb.setPhase("snapshot")
	tb.show(t, "#/snapshot/"+snap, "#disks")
	var formats []string
	var receipt string
	tb.do(t, "links", eval(`[...document.querySelectorAll('#disks a[data-format]')].map(a => a.dataset.format + ' ' + a.getAttribute('href'))`, &formats),
		into(&receipt, chromedp.TextContent(css("#receipt"))))
	if len(formats) != 4 || !strings.Contains(strings.Join(formats, ","), "/api/v1/snapshots/"+snap+"/disks/disk0.vhdx?format=vhdx") {
		t.Errorf("restore links %v", formats)
	}
	if !strings.Contains(receipt, snap) || !strings.Contains(receipt, `"signature"`) {
		t.Errorf("receipt %q", receipt)
	}
	tb.screenshot(t, "snapshot")
	want, _ := os.ReadFile(img)
	tb.do(t, "download original", chromedp.Click(css(`#disks a[data-format="original"]`)))
	if got := waitFile(t, downloads, "disk0.vhdx", len(want)); !bytes.Equal(got, want) {
		t.Errorf("the original download is %d bytes, not the %d uploaded", len(got), len(want))
	}
}

// fileBrowser: the NTFS volume inside the disk, browsed into a directory and
// back, files downloaded byte for byte.
func (f *fixture) fileBrowser(t *testing.T) {
	tb, snap, files, downloads, noSecret := f.tb, f.snap, f.files, f.downloads, f.noSecret
	tb.setPhase("files")
	tb.show(t, "#/files/"+snap+"/disk0.vhdx", "#entries")
	var txt string
	tb.do(t, "root", readText("#entries", &txt))
	if !strings.Contains(txt, "readme.txt") || !strings.Contains(txt, "database.mdf") {
		t.Fatalf("the volume's root shows %q", txt)
	}
	// The volume's root lists no directory but NTFS's own (hidden):
	// go into $Extend by its address, and back by the path's links.
	var href string
	tb.do(t, "here", into(&href, chromedp.Location()))
	tb.show(t, strings.TrimSuffix(href[strings.Index(href, "#"):], "%2F")+"%2F%24Extend", `a.download[data-name="report.bin"]`)
	tb.screenshot(t, "files")
	tb.do(t, "download", chromedp.Click(css(`a.download[data-name="report.bin"]`)))
	want := files["$Extend/report.bin"]
	if got := waitFile(t, downloads, "report.bin", len(want)); !bytes.Equal(got, want) {
		t.Errorf("report.bin downloaded is %d bytes, not the %d in the volume", len(got), len(want))
	}
	tb.do(t, "up", chromedp.Click(css("h2.path a")), chromedp.WaitVisible(css(`a.download[data-name="readme.txt"]`)),
		chromedp.Click(css(`a.download[data-name="readme.txt"]`)))
	if got := waitFile(t, downloads, "readme.txt", len(files["readme.txt"])); !bytes.Equal(got, files["readme.txt"]) {
		t.Errorf("readme.txt downloaded is %q", got)
	}
	noSecret(t, "files")
}

// missingSnapshot: a page whose data is missing says so.
func (f *fixture) missingSnapshot(t *testing.T) {
	tb := f.tb
	tb.setPhase("missing")
	var txt string
	tb.show(t, "#/snapshot/"+strings.Repeat("0", 32), "main .error")
	tb.do(t, "error", readText("main .error", &txt))
	if !strings.Contains(txt, "Could not load this page") {
		t.Errorf("a missing snapshot's page says %q", txt)
	}
}
