// Command shadowvault is the shadowvault server, its backup agent and its
// admin tools, in one binary.
package main

import (
	"fmt"
	"os"
)

const usage = `shadowvault: deduplicating backup repository server for VM disks

usage:
  shadowvault serve     [--repo PATH] [--state DIR] [--listen ADDR]
  shadowvault backup    --server URL --token T [--receipt-key HEX] --host H --vm NAME [--type full|copy]
                        [--vss] [--consistency application|crash] DISK...
  shadowvault snapshots --server URL --token T [--host H] [--vm NAME]
  shadowvault restore   --server URL --token T SNAPSHOT DISK [--format raw|original|vhd|vhdx] [-o FILE [--force]]
  shadowvault nbd       --server URL --token T SNAPSHOT DISK [--listen 127.0.0.1:10809] [--name EXPORT]
  shadowvault token create --server URL --token T --role admin|restore|agent [--host H]
  shadowvault token create --state DIR --role admin   (offline, with the server stopped)
  shadowvault ls        SNAPSHOT DISK [PATH] [--part N]      (files inside an NTFS volume)
  shadowvault cat       SNAPSHOT DISK PATH [--part N] [-o FILE [--force]]
  shadowvault forget    [--host H] [--vm V] [--dry-run] [--keep-last N --keep-daily N ...]
  shadowvault prune     [--repack-below 0.7] [--grace 1h]
  shadowvault check     [--read-data N%|all]
  shadowvault policy    set NAME [--match-vm 'SQL*'] [--keep-daily 7 ...] | list | delete NAME
  shadowvault protect   SNAPSHOT [--off]
  shadowvault repair index [--repo PATH] [--state DIR] | --server URL --token T

Client flags also come from SHADOWVAULT_SERVER, SHADOWVAULT_TOKEN and
SHADOWVAULT_RECEIPT_KEY. Run a command with -h for its flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	args := os.Args[2:]
	var code int
	switch os.Args[1] {
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
	case "token":
		code = cmdToken(args)
	case "repair":
		code = cmdRepair(args)
	case "ls":
		code = cmdLs(args)
	case "cat":
		code = cmdCat(args)
	case "forget":
		code = cmdForget(args)
	case "prune":
		code = cmdPrune(args)
	case "check":
		code = cmdCheck(args)
	case "policy":
		code = cmdPolicy(args)
	case "protect":
		code = cmdProtect(args)
	case "url":
		code = cmdURL(args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "shadowvault: unknown command %q\n\n%s", os.Args[1], usage)
		code = 2
	}
	os.Exit(code)
}
