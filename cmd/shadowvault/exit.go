package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/shadowvault/shadowvault/agent"
)

// Exit codes of the client commands; exitCodesHelp describes them for
// `shadowvault help` and the README repeats it.
const (
	exitOK          = 0
	exitFailure     = 1   // anything not below: check found problems, writing the output failed
	exitUsage       = 2   // bad flags or arguments, an ambiguous snapshot prefix, a bad --server
	exitRefused     = 3   // refused: by the server (token, role, unknown snapshot, bad image) or before asking (bad local input)
	exitNetwork     = 4   // the server is not reachable, or the connection failed
	exitServer      = 5   // the server failed (5xx, a stream it aborted, an answer that does not decode)
	exitMismatch    = 6   // the receipt or a stream hash does not verify
	exitBusy        = 7   // a backup of the host and VM is already running (409 on opening the session)
	exitInterrupted = 130 // SIGINT or SIGTERM, as a shell reports a Ctrl-C
)

const exitCodesHelp = `Exit codes:
  0    success
  1    any other failure: check found problems, the output could not be
       written, a listing was cut short by --max-entries
  2    usage: a bad flag or argument, no token, a snapshot prefix shorter
       than 4 characters or matching several snapshots, a bad --server
  3    refused: by the server (bad token, role not allowed, unknown
       snapshot, disk or file, bad disk image, protected snapshot) or
       before asking it (a disk that is missing, unreadable or a
       directory; no snapshot matches; an -o file exists without --force)
  4    network: the server is not reachable, or the connection failed
       (TLS included)
  5    server error: a 5xx answer, a stream the server aborted (e.g. a
       damaged pack), an answer that does not decode
  6    verification failed: the receipt's signature or a disk's hash
  7    busy: the server refused the session because a backup of the same
       host and VM is running
  130  interrupted (SIGINT, SIGTERM); a backup aborts its session
backup --vss exits with diskshadow's code when diskshadow fails (1 if it
has none).
`

// errUsage: a flag or argument is wrong; errors wrapping it exit 2.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, errUsage), errors.Is(err, errAmbiguous):
		return exitUsage
	case errors.Is(err, agent.ErrVerify):
		return exitMismatch
	case errors.Is(err, agent.ErrBusy):
		return exitBusy
	case errors.Is(err, agent.ErrRefused), errors.Is(err, agent.ErrInput),
		errors.Is(err, errNoSnapshot), errors.Is(err, errOutputExists), errors.Is(err, errNoVolume):
		return exitRefused
	case errors.Is(err, agent.ErrNetwork):
		return exitNetwork
	case errors.Is(err, agent.ErrServer):
		return exitServer
	}
	return exitFailure
}

// fail reports err on stderr in one line (or a few, for a list of
// candidates) and returns its exit code.
func fail(err error) int {
	fmt.Fprintln(stderr, "shadowvault:", describe(err))
	return exitCode(err)
}

// describe is the text of err for a person: the server that could not be
// reached once, without the layers of context a Go error chain repeats.
func describe(err error) string {
	var ue *agent.UnreachableError
	var ua x509.UnknownAuthorityError
	switch {
	case errors.As(err, &ue):
		return ue.Error()
	case errors.As(err, &ua):
		return err.Error() + " (trust the server's CA with --ca-cert)"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, errUsage):
		return trimSentinel(err, errUsage)
	}
	return err.Error()
}

// trimSentinel drops the "usage: " a sentinel put in front of a message.
func trimSentinel(err, sentinel error) string {
	s := err.Error()
	if p := sentinel.Error() + ": "; len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// usageErrorf is a usage error (exit 2) saying what is wrong.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}
