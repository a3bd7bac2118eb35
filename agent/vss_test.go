package agent

import (
	"strings"
	"testing"

	"github.com/shadowvault/shadowvault/receipt"
)

func plan() VSSPlan {
	return VSSPlan{
		VM: "SQL01", Type: "full",
		Disks: []string{`D:\Hyper-V\SQL01\os.vhdx`, `E:\Data\SQL01\data.vhdx`, `D:\Hyper-V\SQL01\logs.vhdx`},
		Volumes: map[string]string{
			`D:\Hyper-V\SQL01\os.vhdx`: `D:\`, `E:\Data\SQL01\data.vhdx`: `E:\`, `D:\Hyper-V\SQL01\logs.vhdx`: `D:`,
		},
		Letters:   []string{"X:", "Y:", "Z:"},
		Metadata:  `C:\ProgramData\shadowvault\SQL01.cab`,
		UploadCmd: `C:\ProgramData\shadowvault\SQL01-upload.cmd`,
		Agent:     `C:\Program Files\shadowvault\shadowvault.exe`,
		AgentArgs: []string{"--host", "HV01", "--vm", "SQL01", "--type", "full", "--receipt-key", "abcd"},
	}
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\r\n") }

func index(t *testing.T, ls []string, want string) int {
	t.Helper()
	for i, l := range ls {
		if l == want {
			return i
		}
	}
	t.Fatalf("script has no line %q:\n%s", want, strings.Join(ls, "\n"))
	return -1
}

func TestDiskshadowScriptOrder(t *testing.T) {
	out, err := plan().Generate()
	if err != nil {
		t.Fatal(err)
	}
	ls := lines(out.Diskshadow)
	begin := index(t, ls, "BEGIN BACKUP")
	verify := index(t, ls, "WRITER VERIFY {66841cd4-6ded-4f4b-8f17-fd23f8ddc3de}")
	addD := index(t, ls, `ADD VOLUME D:\ ALIAS svVol0`)
	addE := index(t, ls, `ADD VOLUME E:\ ALIAS svVol1`)
	create := index(t, ls, "CREATE")
	expose := index(t, ls, "EXPOSE %svVol0% X:")
	index(t, ls, "EXPOSE %svVol1% Y:")
	exec := index(t, ls, `EXEC "C:\ProgramData\shadowvault\SQL01-upload.cmd"`)
	end := index(t, ls, "END BACKUP")
	if !(begin < verify && verify < addD && addD < addE && addE < create && create < expose && expose < exec && exec < end) {
		t.Fatalf("commands out of order:\n%s", out.Diskshadow)
	}
	// END BACKUP, the moment guests may truncate logs, comes only after the
	// upload step, and nothing between them can run when the step fails:
	// diskshadow exits at a failing EXEC.
	for _, l := range ls[exec+1 : end] {
		if !strings.HasPrefix(l, "UNEXPOSE ") {
			t.Fatalf("unexpected command between EXEC and END BACKUP: %q", l)
		}
	}
	if strings.Contains(out.Diskshadow, "SET OPTION COPY") {
		t.Fatal("a full backup must not be a copy backup")
	}
	if strings.Count(out.Diskshadow, "ADD VOLUME") != 2 {
		t.Fatal("the two disks on D: must add D: once")
	}
}

// The generated scripts, line by line. Full: BEGIN BACKUP makes it a full
// backup session, END BACKUP (reached only after the upload step returned 0)
// sends BackupComplete. Copy: no BEGIN/END BACKUP, so diskshadow's default
// copy backup, and no BackupComplete at all. Both delete their persistent
// shadow copies at the end.
var wantFull = []string{
	"# shadowvault: VSS backup of VM SQL01 (generated; do not edit)",
	"SET CONTEXT PERSISTENT",
	"SET VERBOSE ON",
	`SET METADATA "C:\ProgramData\shadowvault\SQL01.cab"`,
	"BEGIN BACKUP",
	"WRITER VERIFY {66841cd4-6ded-4f4b-8f17-fd23f8ddc3de}",
	`ADD VOLUME D:\ ALIAS svVol0`,
	`ADD VOLUME E:\ ALIAS svVol1`,
	"CREATE",
	"EXPOSE %svVol0% X:",
	"EXPOSE %svVol1% Y:",
	`EXEC "C:\ProgramData\shadowvault\SQL01-upload.cmd"`,
	"UNEXPOSE X:",
	"UNEXPOSE Y:",
	"END BACKUP",
	"DELETE SHADOWS ID %svVol0%",
	"DELETE SHADOWS ID %svVol1%",
	"EXIT",
}

var wantCopy = []string{
	"# shadowvault: VSS backup of VM SQL01 (generated; do not edit)",
	"SET CONTEXT PERSISTENT",
	"SET VERBOSE ON",
	`SET METADATA "C:\ProgramData\shadowvault\SQL01.cab"`,
	"WRITER VERIFY {66841cd4-6ded-4f4b-8f17-fd23f8ddc3de}",
	`ADD VOLUME D:\ ALIAS svVol0`,
	`ADD VOLUME E:\ ALIAS svVol1`,
	"CREATE",
	"EXPOSE %svVol0% X:",
	"EXPOSE %svVol1% Y:",
	`EXEC "C:\ProgramData\shadowvault\SQL01-upload.cmd"`,
	"UNEXPOSE X:",
	"UNEXPOSE Y:",
	"DELETE SHADOWS ID %svVol0%",
	"DELETE SHADOWS ID %svVol1%",
	"EXIT",
}

func TestDiskshadowScripts(t *testing.T) {
	for typ, want := range map[receipt.BackupType][]string{receipt.BackupFull: wantFull, receipt.BackupCopy: wantCopy} {
		p := plan()
		p.Type = typ
		out, err := p.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(out.Diskshadow, "\r\n") || strings.Contains(strings.ReplaceAll(out.Diskshadow, "\r\n", ""), "\n") {
			t.Fatalf("%s: lines must end in CRLF", typ)
		}
		got := lines(out.Diskshadow)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s backup script:\n%s\nwant:\n%s", typ, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, l := range got {
			if strings.HasPrefix(l, "SET OPTION") {
				t.Fatalf("%s: diskshadow's set option has no copy/full parameter: %q", typ, l)
			}
		}
	}
}

// TestUploadStepQuoting: arguments with spaces and double quotes (the
// writer metadata JSON) reach the agent as one argument each, by the rules
// Windows programs (Go's os.Args) split a command line with.
func TestUploadStepQuoting(t *testing.T) {
	p := plan()
	p.AgentArgs = []string{"--vm", "SQL 01", "--writers", `[{"name":"Microsoft Hyper-V VSS Writer","id":"{66841cd4}"}]`, "--x", `a\"b`, "--y", `C:\dir\`}
	out, err := p.Generate()
	if err != nil {
		t.Fatal(err)
	}
	want := `"C:\Program Files\shadowvault\shadowvault.exe" backup --vm "SQL 01" --writers "[{\"name\":\"Microsoft Hyper-V VSS Writer\",\"id\":\"{66841cd4}\"}]" --x "a\\\"b" --y C:\dir\ X:\Hyper-V\SQL01\os.vhdx Y:\Data\SQL01\data.vhdx X:\Hyper-V\SQL01\logs.vhdx`
	if got := strings.Split(out.Upload, "\r\n")[2]; got != want {
		t.Fatalf("upload command line:\n%s\nwant:\n%s", got, want)
	}
	for _, bad := range []string{"100%", "a\nb", `"&calc"`, `"x" | y`} {
		p.AgentArgs = []string{"--server", bad}
		if _, err := p.Generate(); err == nil {
			t.Errorf("agent argument %q: no error", bad)
		}
	}
	p = plan()
	p.VM = "SQL01\r\nDELETE SHADOWS ALL"
	if _, err := p.Generate(); err == nil {
		t.Error("a line break in the VM name reached the script")
	}
}

func TestUploadStep(t *testing.T) {
	out, err := plan().Generate()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`X:\Hyper-V\SQL01\os.vhdx`, `Y:\Data\SQL01\data.vhdx`, `X:\Hyper-V\SQL01\logs.vhdx`}
	for i, w := range want {
		if out.ShadowDisks[i] != w {
			t.Fatalf("shadow path %d = %q, want %q", i, out.ShadowDisks[i], w)
		}
		if !strings.Contains(out.Upload, w) {
			t.Fatalf("upload step does not send %s:\n%s", w, out.Upload)
		}
	}
	if !strings.Contains(out.Upload, `"C:\Program Files\shadowvault\shadowvault.exe" backup --host HV01`) {
		t.Fatalf("upload step does not run the agent:\n%s", out.Upload)
	}
	if !strings.HasSuffix(out.Upload, "exit /b %ERRORLEVEL%\r\n") {
		t.Fatal("upload step must pass the agent's exit code to diskshadow")
	}
	if strings.Contains(out.Upload, "svt_") {
		t.Fatal("the token must not be written into the script")
	}
}

func TestPlanErrors(t *testing.T) {
	for name, mutate := range map[string]func(*VSSPlan){
		"bad type":      func(p *VSSPlan) { p.Type = "incremental" },
		"no disks":      func(p *VSSPlan) { p.Disks = nil },
		"no volume":     func(p *VSSPlan) { delete(p.Volumes, `E:\Data\SQL01\data.vhdx`) },
		"wrong volume":  func(p *VSSPlan) { p.Volumes[`E:\Data\SQL01\data.vhdx`] = `F:\` },
		"few letters":   func(p *VSSPlan) { p.Letters = []string{"X:"} },
		"quote in path": func(p *VSSPlan) { p.UploadCmd = `C:\a"b.cmd` },
	} {
		p := plan()
		p.Volumes = map[string]string{}
		for k, v := range plan().Volumes {
			p.Volumes[k] = v
		}
		mutate(&p)
		if _, err := p.Generate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
