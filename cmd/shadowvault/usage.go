package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// verb is a command with the constructor of its FlagSet.
type verb struct {
	*command
	flags func() *flag.FlagSet // nil: not in this binary yet
}

type section struct {
	title string
	verbs []verb
}

// flagsOf adapts a verb's flag constructor to verb.flags.
func flagsOf[T any](f func() (*flag.FlagSet, T)) func() *flag.FlagSet {
	return func() *flag.FlagSet { fs, _ := f(); return fs }
}

// The verbs that serve a snapshot disk, described here for the usage;
// nbd.go and url.go make their FlagSets with nbdCommand.flagSet() and
// urlCommand.flagSet(), and list their constructors in commandList.
var (
	nbdCommand = command{
		name:    "nbd",
		args:    "SNAPSHOT DISK --listen ADDR",
		summary: "serve a disk of a snapshot over NBD, read-only",
		about:   snapshotHelp + "\nThe export is read-only; see docs/INSTANT-RECOVERY.md for a qcow2 overlay\nthat takes a VM's writes.\n",
	}
	urlCommand = command{
		name:    "url",
		args:    "SNAPSHOT DISK",
		summary: "print a signed read-only URL of a disk of a snapshot",
		about:   urlAbout,
	}
)

// commandList is every verb, in the order of the usage.
func commandList() []section {
	return []section{
		{"Server", []verb{{&serveCmd, flagsOf(serveFlags)}, {&initCmd, flagsOf(initFlags)}}},
		{"Backup and restore", []verb{
			{&backupCmd, flagsOf(backupFlags)},
			{&snapshotsCmd, flagsOf(snapshotsFlags)},
			{&restoreCmd, flagsOf(restoreFlags)},
			{&nbdCommand, flagsOf(nbdFlags)},
			{&urlCommand, flagsOf(urlFlags)},
			{&urlListCmd, flagsOf(urlListFlags)},
			{&urlRevokeCmd, flagsOf(urlRevokeFlags)},
		}},
		{"Schedules and the agent service", []verb{
			{&scheduleSetCmd, flagsOf(scheduleSetFlags)},
			{&scheduleListCmd, flagsOf(scheduleListFlags)},
			{&scheduleShowCmd, flagsOf(scheduleShowFlags)},
			{&scheduleRmCmd, flagsOf(scheduleRmFlags)},
			{&scheduleStatusCmd, flagsOf(scheduleStatusFlags)},
			{&agentRunCmd, flagsOf(agentRunFlags)},
			{&agentInstallCmd, flagsOf(agentInstallFlags)},
			{&agentUninstallCmd, flagsOf(agentUninstallFlags)},
		}},
		{"Files inside a backup (NTFS)", []verb{
			{&lsCmd, flagsOf(lsFlags)},
			{&findCmd, flagsOf(findFlags)},
			{&catCmd, flagsOf(catFlags)},
		}},
		{"Retention and maintenance", []verb{
			{&forgetCmd, flagsOf(forgetFlags)},
			{&protectCmd, flagsOf(protectFlags)},
			{&policySetCmd, flagsOf(policySetFlags)},
			{&policyListCmd, flagsOf(policyListFlags)},
			{&policyDeleteCmd, flagsOf(policyDeleteFlags)},
			{&pruneCmd, flagsOf(pruneFlags)},
			{&checkCmd, flagsOf(checkFlags)},
			{&repairIndexCmd, flagsOf(repairFlags)},
			{&repairVersionsCmd, flagsOf(repairVersionsFlags)},
			{&syncCmd, flagsOf(syncFlags)},
			{&jobsCmd, flagsOf(jobsFlags)},
			{&jobsShowCmd, flagsOf(jobsShowFlags)},
			{&statsCmd, flagsOf(statsFlags)},
		}},
		{"Tokens", []verb{
			{&tokenCreateCmd, flagsOf(tokenCreateFlags)},
			{&tokenListCmd, flagsOf(tokenListFlags)},
			{&tokenRevokeCmd, flagsOf(tokenRevokeFlags)},
		}},
		{"Encryption keys", []verb{
			{&keyListCmd, flagsOf(keyListFlags)},
			{&keyAddCmd, flagsOf(keyAddFlags)},
			{&keyRemoveCmd, flagsOf(keyRemoveFlags)},
		}},
		{"Other", []verb{
			{&versionCmd, flagsOf(versionFlags)},
			{&helpCmd, nil},
		}},
	}
}

var helpCmd = command{name: "help", args: "[COMMAND]", summary: "show this text, or a command's help"}

const usageHead = `shadowvault: deduplicating backup repository server for Hyper-V VM disks

usage: shadowvault COMMAND [ARGUMENTS] [FLAGS]
Flags may come before, between or after the arguments. ` + "`shadowvault COMMAND -h`" + `
says what a command does, its arguments and its flags.
`

const usageTail = `Client flags, of every command that talks to a server:
  --server URL|HOST[:PORT]   the server (SHADOWVAULT_SERVER; default
                             http://127.0.0.1:8420; a bare address means
                             http://, https:// with --ca-cert, port 8420)
  --token TOKEN|@FILE        API token (SHADOWVAULT_TOKEN)
  --ca-cert FILE             trust this CA for an https server (SHADOWVAULT_CA_CERT)
`

const conventions = `SNAPSHOT arguments: a snapshot ID, any unique prefix of one (at least 4
characters; ` + "`snapshots`" + ` shows the shortest unique one, at least 8), or
latest: the newest snapshot, of --host and --vm if given.

Output: results go to stdout, as aligned tables or, with --json, as JSON
(the server's answer where there is one). Log lines, progress and errors
go to stderr: log lines in slog's text format (time=... level=... msg=...);
progress is a status line on a terminal, a log line every 10 s elsewhere;
a failure ends with one line "shadowvault: what went wrong".

`

// printUsage writes the usage: every verb, with its arguments and flags.
// full adds the conventions and the exit codes (shadowvault help).
func printUsage(w io.Writer, full bool) {
	fmt.Fprint(w, usageHead)
	for _, s := range commandList() {
		fmt.Fprintf(w, "\n%s:\n", s.title)
		for _, v := range s.verbs {
			fmt.Fprintf(w, "  %s\n", strings.TrimSpace("shadowvault "+v.name+" "+v.args))
			for _, l := range wrap(v.summary, 72) {
				fmt.Fprintf(w, "        %s\n", l)
			}
			flags := []string{v.flagHint}
			if v.flags != nil {
				flags = synopsis(v.flags(), v.args)
			}
			for _, l := range wrapWords(flags, 72) {
				fmt.Fprintf(w, "          %s\n", l)
			}
		}
	}
	fmt.Fprintf(w, "\n%s", usageTail)
	if full {
		fmt.Fprintf(w, "\n%s%s", conventions, exitCodesHelp)
	}
}

// cmdHelp: shadowvault help [COMMAND [SUBCOMMAND]].
func cmdHelp(args []string) int {
	if len(args) == 0 {
		printUsage(stdout, true)
		return exitOK
	}
	if args[0] == "help" {
		helpCmd.printHelp(stdout, nil)
		return exitOK
	}
	for _, s := range commandList() {
		for _, v := range s.verbs {
			if v.name == strings.Join(args, " ") && v.flags == nil {
				v.printHelp(stdout, nil)
				return exitOK
			}
		}
	}
	return dispatch(append(args, "-h"))
}

// subverb splits the sub-verb (create, list, ...) off args.
func subverb(args []string) (string, []string) {
	if len(args) == 0 {
		return "", nil
	}
	return args[0], args[1:]
}

// groupUsage answers a verb with sub-verbs (token, policy, repair) called
// without a known one: -h lists them and exits 0, anything else is a
// usage error.
func groupUsage(group *command, sub string) int {
	w, code := io.Writer(stderr), exitUsage
	switch sub {
	case "-h", "-help", "--help":
		code = exitOK
	case "":
		fmt.Fprintf(w, "shadowvault %s needs a command: %s\n\n", group.name, group.args)
	default:
		fmt.Fprintf(w, "shadowvault %s: unknown command %q\n\n", group.name, sub)
	}
	fmt.Fprintf(w, "usage: shadowvault %s %s\n\n%s.\n\n", group.name, group.args, capitalize(group.summary))
	for _, s := range commandList() {
		for _, v := range s.verbs {
			if strings.HasPrefix(v.name, group.name+" ") {
				fmt.Fprintf(w, "  %-16s %s\n", v.name, v.summary)
			}
		}
	}
	fmt.Fprintf(w, "\nRun shadowvault %s COMMAND -h for a command's arguments and flags.\n", group.name)
	return code
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) []string {
	var pos []string
	for {
		_ = fs.Parse(args)
		args = fs.Args()
		if len(args) == 0 {
			return pos
		}
		if args[0] == "--" {
			return append(pos, args[1:]...)
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// unknownCommand answers a verb the dispatch does not know.
func unknownCommand(name string) int {
	fmt.Fprintf(stderr, "shadowvault: unknown command %q\n\n", name)
	printUsage(stderr, false)
	return exitUsage
}
