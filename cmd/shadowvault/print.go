package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shadowvault/shadowvault/agent"
)

// stdout is where verbs print their results.
var stdout io.Writer = os.Stdout

// jsonHelp is the usage of every --json flag.
const jsonHelp = "print JSON (the API's answer where there is one) instead of a table"

// printJSON writes v as indented JSON with a trailing newline. A
// json.RawMessage (an answer of the server, printed as it came) is
// indented the same way.
func printJSON(v any) int {
	var b []byte
	var err error
	if raw, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		err = json.Indent(&buf, bytes.TrimSpace(raw), "", "  ")
		b = buf.Bytes()
	} else {
		b, err = json.MarshalIndent(v, "", "  ")
	}
	if err != nil {
		return fail(fmt.Errorf("print JSON: %w", err))
	}
	_, err = stdout.Write(append(b, '\n'))
	if err != nil {
		return fail(err)
	}
	return exitOK
}

// table is an aligned table on stdout; end flushes it.
type table struct{ tw *tabwriter.Writer }

func newTable(header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(strings.Join(header, "\t"))
	}
	return t
}

// row adds a row: cells separated by tabs, or fmt.Sprintf(format, args)
// when args are given.
func (t *table) row(format string, args ...any) {
	if len(args) > 0 {
		format = fmt.Sprintf(format, args...)
	}
	fmt.Fprintln(t.tw, format)
}

func (t *table) end() { t.tw.Flush() }

// printf prints a line (a newline is added when missing).
func printf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	io.WriteString(stdout, s)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// localTime shows an RFC 3339 time of the server in the local zone, to
// the second; "-" for none.
func localTime(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return showTime(t)
}

func showTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func urlQuery(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// doRaw calls the API with body as JSON (none when nil) and returns the
// answer unparsed, for verbs that print it as JSON or as a table.
func doRaw(ctx context.Context, c *agent.Client, method, path string, body any) (json.RawMessage, error) {
	var raw json.RawMessage
	if body != nil {
		return raw, c.DoJSON(ctx, method, path, body, &raw)
	}
	return raw, c.Do(ctx, method, path, nil, 0, &raw)
}
