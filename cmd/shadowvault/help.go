package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// command describes a verb for its -h text and its entry in the usage.
// Each verb makes its FlagSet with flagSet, so that -h prints what it
// does, its arguments and every flag.
type command struct {
	name    string // as typed: "restore", "token create"
	args    string // the positional arguments (and required flags): "SNAPSHOT DISK"
	summary string // what it does, one line
	about   string // the arguments and what is printed; "" for nothing more
	// flagHint lists the flags of a verb whose FlagSet is not in this
	// binary (see commandList).
	flagHint string
}

// flagSet makes the verb's FlagSet: -h prints the verb's help on stderr
// and exits 0, a bad flag says so and exits 2.
func (c *command) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ExitOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { c.printHelp(fs.Output(), fs) }
	return fs
}

// printHelp writes the verb's -h text.
func (c *command) printHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: shadowvault %s [flags]", c.name)
	if c.args != "" {
		fmt.Fprintf(w, " %s", c.args)
	}
	fmt.Fprintf(w, "\n\n%s.\n", capitalize(c.summary))
	if c.about != "" {
		fmt.Fprintf(w, "\n%s", c.about)
	}
	if fs == nil {
		if c.flagHint != "" {
			fmt.Fprintf(w, "\nFlags: %s\n", c.flagHint)
		}
		return
	}
	fmt.Fprintln(w, "\nFlags (they may come before, between or after the arguments):")
	printFlags(w, fs)
}

// printFlags lists every flag of fs with its usage and default.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(w, "  %s\n", flagWithValue(f))
		_, usage := flag.UnquoteUsage(f)
		if !isZeroDefault(f) {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		for _, l := range wrap(usage, 72) {
			fmt.Fprintf(w, "        %s\n", l)
		}
	})
}

// flagWithValue is how a flag is typed: -o FILE, --format raw|vhd|vhdx,
// --force. The value is the usage's `quoted` word, else its type.
func flagWithValue(f *flag.Flag) string {
	dash := "--"
	if len(f.Name) == 1 {
		dash = "-"
	}
	name, _ := flag.UnquoteUsage(f)
	switch {
	case name == "":
		return dash + f.Name
	case !strings.Contains(f.Usage, "`"): // the type's name: "string", "int"
		name = strings.ToUpper(name)
	}
	return dash + f.Name + " " + name
}

func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s":
		return true
	}
	return false
}

// synopsis lists the flags of fs as they are typed, leaving out the
// client flags (listed once in the usage) and those args names already.
func synopsis(fs *flag.FlagSet, args string) []string {
	var parts []string
	fs.VisitAll(func(f *flag.Flag) {
		if clientFlagNames[f.Name] || strings.Contains(args, "--"+f.Name+" ") || strings.HasSuffix(args, "--"+f.Name) {
			return
		}
		parts = append(parts, "["+flagWithValue(f)+"]")
	})
	return parts
}

var clientFlagNames = map[string]bool{"server": true, "token": true, "ca-cert": true}

// wrap breaks s into lines of at most width characters, at spaces.
func wrap(s string, width int) []string { return wrapWords(strings.Fields(s), width) }

// wrapWords joins words into lines of at most width characters (a longer
// word has a line of its own).
func wrapWords(words []string, width int) []string {
	var lines []string
	line := ""
	for _, word := range words {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
