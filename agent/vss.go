package agent

import (
	"fmt"
	"sort"
	"strings"

	"github.com/shadowvault/shadowvault/apiv1"
	"github.com/shadowvault/shadowvault/receipt"
)

// HyperVWriter is the id of the Hyper-V VSS writer, which reaches into each
// guest so that its applications flush and freeze (recursive VSS).
const HyperVWriter = "{66841cd4-6ded-4f4b-8f17-fd23f8ddc3de}"

// VSSPlan is one VM backup through diskshadow.
type VSSPlan struct {
	VM        string
	Type      apiv1.BackupType  // full or copy
	Disks     []string          // the VM's disk files, e.g. D:\Hyper-V\SQL01\disk0.vhdx
	Volumes   map[string]string // disk file -> the volume it lives on, e.g. D:\
	Letters   []string          // free drive letters to expose shadows at, e.g. X:, Y:
	Metadata  string            // where diskshadow writes the backup metadata .cab
	UploadCmd string            // the .cmd file diskshadow EXECs
	Agent     string            // the agent executable
	AgentArgs []string          // server, host, vm, type, receipt key: everything but the disks
}

// VSSScripts is what a plan produces: the diskshadow script, the upload
// step it EXECs, and the paths of the disks inside the exposed shadows.
type VSSScripts struct {
	Diskshadow  string
	Upload      string
	ShadowDisks []string
	Exposed     []string
}

// Generate writes the diskshadow script and the upload step. The script
// verifies the Hyper-V writer, snapshots and exposes the volumes holding the
// disks, EXECs the upload step and deletes the shadow copies again.
//
// What the commands mean is Microsoft's diskshadow reference
// (https://learn.microsoft.com/windows-server/administration/windows-commands/diskshadow
// and the pages it links):
//
//   - "begin backup: Starts a full backup session. This command overrides
//     the default copy backup setting." (.../begin-backup). Without it,
//     add volume + create make a copy backup (.../diskshadow, .../create_2).
//     So a full backup has BEGIN BACKUP, and a copy backup has none: there
//     is no "set option copy" (.../set-option lists differential, plex,
//     transportable, rollbackrecover, txfrecover, noautorecover only).
//   - "end backup: Ends a full backup session and issues a BackupComplete
//     event" (.../end-backup): only the full script has it, after EXEC.
//     "exec: If the script fails, an error is returned and DiskShadow quits"
//     (.../exec), so END BACKUP, the moment the guests may truncate their
//     logs, is reached only when the upload step returned 0: only when the
//     agent verified the server's receipt.
//   - "expose: Exposes a persistent shadow copy" (.../expose), so the context
//     is persistent (.../set-context: "persists across program exit"), and the
//     script removes its shadow copies itself with "delete shadows id" and
//     the alias that add volume linked to the shadow ID (.../delete-shadows,
//     .../add-volume). After a failed EXEC diskshadow has quit: the caller
//     deletes the exposed copies (see the cleanup in cmd/shadowvault).
//   - "writer verify: The backup or restore procedure will fail if the
//     writer or component is not included" (.../writer).
func (p VSSPlan) Generate() (VSSScripts, error) {
	if _, err := receipt.ParseBackupType(string(p.Type)); err != nil {
		return VSSScripts{}, err
	}
	if len(p.Disks) == 0 {
		return VSSScripts{}, fmt.Errorf("vm %s: no disks", p.VM)
	}
	var vols []string
	seen := map[string]bool{}
	for _, d := range p.Disks {
		v, ok := p.Volumes[d]
		if !ok || v == "" {
			return VSSScripts{}, fmt.Errorf("disk %s: volume unknown", d)
		}
		v = volumeKey(v)
		if !strings.HasPrefix(strings.ToUpper(d), strings.ToUpper(v)) {
			return VSSScripts{}, fmt.Errorf("disk %s is not on volume %s", d, v)
		}
		if !seen[v] {
			seen[v] = true
			vols = append(vols, v)
		}
	}
	sort.Strings(vols)
	if len(p.Letters) < len(vols) {
		return VSSScripts{}, fmt.Errorf("%d volumes to expose, %d free drive letters", len(vols), len(p.Letters))
	}
	for _, s := range append([]string{p.VM, p.Metadata, p.UploadCmd, p.Agent}, p.Disks...) {
		if strings.ContainsAny(s, "\"\r\n%") {
			return VSSScripts{}, fmt.Errorf("%q: quotes, percent signs and line breaks are not allowed", s)
		}
	}
	for _, a := range p.AgentArgs {
		// cmd.exe expands %VAR% in a .cmd file, and it does not know the
		// \" escape: a metacharacter next to an escaped quote could be
		// outside cmd's quotes.
		if strings.ContainsAny(a, "\r\n%") || strings.Contains(a, `"`) && strings.ContainsAny(a, "&|<>^()") {
			return VSSScripts{}, fmt.Errorf("agent argument %q cannot be written to the upload step", a)
		}
	}
	alias := map[string]string{}
	letter := map[string]string{}
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\r\n", a...) }
	line("# shadowvault: VSS backup of VM %s (generated; do not edit)", p.VM)
	line("SET CONTEXT PERSISTENT")
	line("SET VERBOSE ON")
	line(`SET METADATA "%s"`, p.Metadata)
	if p.Type == apiv1.BackupFull {
		line("BEGIN BACKUP") // a full backup session; without it, a copy backup
	}
	line("WRITER VERIFY %s", HyperVWriter)
	for i, v := range vols {
		alias[v] = fmt.Sprintf("svVol%d", i)
		letter[v] = strings.TrimSuffix(strings.ToUpper(p.Letters[i]), `\`)
		line("ADD VOLUME %s ALIAS %s", v, alias[v])
	}
	line("CREATE")
	for _, v := range vols {
		line("EXPOSE %%%s%% %s", alias[v], letter[v])
	}
	line(`EXEC "%s"`, p.UploadCmd)
	for _, v := range vols {
		line("UNEXPOSE %s", letter[v])
	}
	if p.Type == apiv1.BackupFull {
		line("END BACKUP") // BackupComplete: the guests may truncate their logs
	}
	for _, v := range vols {
		line("DELETE SHADOWS ID %%%s%%", alias[v])
	}
	line("EXIT")

	out := VSSScripts{Diskshadow: b.String()}
	for _, v := range vols {
		out.Exposed = append(out.Exposed, letter[v])
	}
	for _, d := range p.Disks {
		v := volumeKey(p.Volumes[d])
		out.ShadowDisks = append(out.ShadowDisks, letter[v]+`\`+d[len(v):])
	}
	var u strings.Builder
	u.WriteString("@echo off\r\n")
	u.WriteString("rem shadowvault upload step: exits 0 only with a verified receipt\r\n")
	fmt.Fprintf(&u, `"%s"`, p.Agent)
	for _, a := range append(append([]string{"backup"}, p.AgentArgs...), out.ShadowDisks...) {
		fmt.Fprintf(&u, " %s", cmdQuote(a))
	}
	u.WriteString("\r\nexit /b %ERRORLEVEL%\r\n")
	out.Upload = u.String()
	return out, nil
}

// volumeKey normalizes a volume path to end in a backslash.
func volumeKey(v string) string {
	if !strings.HasSuffix(v, `\`) {
		v += `\`
	}
	return v
}

// cmdQuote quotes an argument for the command line of a Windows program
// run from a .cmd file: quoted when it holds a blank, a double quote or a
// cmd.exe metacharacter, with quotes escaped as \" and the backslashes
// before them doubled (the rules Windows programs, Go's os.Args among them,
// split their command line by; as syscall.EscapeArg does).
func cmdQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"&|<>^()") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(s[i])
	}
	b.WriteString(strings.Repeat(`\`, slashes)) // before the closing quote
	b.WriteByte('"')
	return b.String()
}
