package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/shadowvault/shadowvault/api"
	"github.com/shadowvault/shadowvault/apiv1"
)

// Sync jobs serve runs by itself: --sync-job FILE (repeatable) names a
// JSON sync request (the body of POST /api/v1/sync, tokens included: keep
// the file mode 0600), run every --sync-interval.

// syncJobs are the --sync-job files.
type syncJobs []string

func (s *syncJobs) String() string     { return strings.Join(*s, ",") }
func (s *syncJobs) Set(v string) error { *s = append(*s, v); return nil }

var syncSchedule struct {
	jobs  syncJobs
	every time.Duration
}

func registerSyncScheduleFlags(fs *flag.FlagSet) {
	fs.Var(&syncSchedule.jobs, "sync-job", "run the sync job in `FILE` (JSON: the body of POST /api/v1/sync) every --sync-interval; repeatable")
	fs.DurationVar(&syncSchedule.every, "sync-interval", time.Hour, "how often (`DURATION`) each --sync-job runs")
}

// readSyncJob reads a --sync-job file.
func readSyncJob(path string) (apiv1.SyncRequest, error) {
	var req apiv1.SyncRequest
	data, err := os.ReadFile(path)
	if err != nil {
		return req, fmt.Errorf("--sync-job: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("--sync-job %s: %w", path, err)
	}
	return req, nil
}

// scheduleSyncs starts the --sync-job schedules of srv.
func scheduleSyncs(ctx context.Context, srv *api.Server) error {
	for _, path := range syncSchedule.jobs {
		req, err := readSyncJob(path)
		if err != nil {
			return err
		}
		if err := srv.ScheduleSync(ctx, req, syncSchedule.every); err != nil {
			return fmt.Errorf("--sync-job %s: %w", path, err)
		}
	}
	return nil
}
