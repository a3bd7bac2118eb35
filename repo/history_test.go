package repo_test

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shadowvault/shadowvault/internal/testserver"
	"github.com/shadowvault/shadowvault/repo"
)

// TestJobRunningAtACrash: a job the index shows running when a server
// opens (the last one stopped without ending it) ends as failed, and
// stays in the history.
func TestJobRunningAtACrash(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	sess, err := s.Repo.OpenSession(repo.SessionInfo{Host: "HV01", VM: "VM1", BackupType: "full", Consistency: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	id := sess.Job().ID()
	s.Repo.History().Flush() // the running record is in the index
	// A second repository over the same index, as the server restarted
	// after a crash would open it.
	_, key, _ := ed25519.GenerateKey(nil)
	r, err := repo.Open(context.Background(), s.Backend, s.Index, repo.Options{Logger: quiet, ReceiptKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	rec, _, err := r.History().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Result != repo.JobFailed || rec.End.IsZero() || !strings.Contains(rec.Error, "stopped") || rec.SessionID != sess.ID {
		t.Fatalf("a job running at a crash, after the restart: %+v", rec)
	}
	if st := r.History().VMs(); len(st) != 1 || st[0].LastFailure != rec.End {
		t.Fatalf("VM status %+v, want the failure at %v", st, rec.End)
	}
}

// TestJobLogLines: records reach a job's log by its session or job
// attribute, bound or not, at Info and above, cut at 512 bytes on a rune
// boundary; others do not.
func TestJobLogLines(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	sess, err := s.Repo.OpenSession(repo.SessionInfo{Host: "HV01", VM: "VM1", BackupType: "full", Consistency: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Repo.OpenSession(repo.SessionInfo{Host: "HV01", VM: "VM2", BackupType: "full", Consistency: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(s.Repo.History().Handler(slog.DiscardHandler))
	log.Info("by attribute", "session", sess.ID)
	log.With("session", sess.ID).WithGroup("g").Info("bound, then grouped", "k", "v")
	log.Info("long "+strings.Repeat("é", 2000), "session", sess.ID)
	log.Debug("debug", "session", sess.ID)
	log.Info("another session", "session", other.ID)
	log.Info("no session")
	log.Info("unknown session", "session", "0123")
	sess.Job().Logger().Warn("by job id")
	_, lines, err := s.Repo.History().Get(context.Background(), sess.Job().ID())
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, l := range lines {
		msgs = append(msgs, l.Msg)
		if len(l.Msg) > 512 || !utf8.ValidString(l.Msg) {
			t.Fatalf("line of %d bytes (valid UTF-8: %v)", len(l.Msg), utf8.ValidString(l.Msg))
		}
	}
	want := []string{"session opened", "by attribute", "bound, then grouped", "long ", "by job id"}
	if len(msgs) != len(want) {
		t.Fatalf("log %q, want lines starting %q", msgs, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(msgs[i], w) {
			t.Fatalf("line %d %q, want it to start %q", i, msgs[i], w)
		}
	}
	if !strings.HasSuffix(msgs[3], "…") || !strings.Contains(msgs[2], "g.k=v") && !strings.Contains(msgs[2], "k=v") {
		t.Fatalf("lines %q", msgs)
	}
}
