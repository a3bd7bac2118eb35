// Command shadowvault is the shadowvault server, its backup agent and its
// admin tools, in one binary.
package main

import (
	"log/slog"
	"os"
)

func main() {
	slog.SetDefault(newLogger(slog.LevelInfo))
	os.Exit(dispatch(os.Args[1:]))
}

// dispatch dispatches a command line (without the program name) to its verb
// and returns the exit code. A verb is one case; its help and its place
// in the usage come from commandList (usage.go).
func dispatch(args []string) int {
	if len(args) == 0 {
		printUsage(stderr, false)
		return exitUsage
	}
	var code int
	verb, args := args[0], args[1:]
	switch verb {
	case "serve":
		code = cmdServe(args)
	case "backup":
		code = cmdBackup(args)
	case "snapshots":
		code = cmdSnapshots(args)
	case "restore":
		code = cmdRestore(args)
	case "nbd":
		code = cmdNBD(args)
	case "url":
		code = cmdURL(args)
	case "ls":
		code = cmdLs(args)
	case "find":
		code = cmdFind(args)
	case "cat":
		code = cmdCat(args)
	case "forget":
		code = cmdForget(args)
	case "protect":
		code = cmdProtect(args)
	case "policy":
		code = cmdPolicy(args)
	case "schedule":
		code = cmdSchedule(args)
	case "agent":
		code = cmdAgent(args)
	case "prune":
		code = cmdPrune(args)
	case "check":
		code = cmdCheck(args)
	case "repair":
		code = cmdRepair(args)
	case "sync":
		code = cmdSync(args)
	case "jobs":
		code = cmdJobs(args)
	case "stats":
		code = cmdStats(args)
	case "token":
		code = cmdToken(args)
	case "init":
		code = cmdInit(args)
	case "key":
		code = cmdKey(args)
	case "version", "--version":
		code = cmdVersion(args)
	case "help", "-h", "-help", "--help":
		code = cmdHelp(args)
	default:
		code = unknownCommand(verb)
	}
	return code
}
