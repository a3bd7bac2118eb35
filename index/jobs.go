package index

import (
	bolt "go.etcd.io/bbolt"
)

// The job history: bucket jobs holds each job's record (JSON, versioned by
// its writer) by job id, and bucket joblogs its log lines, apart, so that
// listing the history does not read every log. Job ids sort by start
// time. Both were added in schema 1 without a migration: an index without
// them has no history.

// PutJob stores a job's record and, when log is not nil, its log, in one
// transaction.
func (x *Index) PutJob(id string, record, log []byte) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketJobs).Put([]byte(id), record); err != nil {
			return err
		}
		if log == nil {
			return nil
		}
		return tx.Bucket(bucketJobLogs).Put([]byte(id), log)
	})
}

// JobPut is one job record (and log, when not nil) for PutJobs.
type JobPut struct {
	ID          string
	Record, Log []byte
}

// PutJobs stores several job records in one transaction (one fsync for a
// batch of changes).
func (x *Index) PutJobs(jobs []JobPut) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		for _, j := range jobs {
			if err := tx.Bucket(bucketJobs).Put([]byte(j.ID), j.Record); err != nil {
				return err
			}
			if j.Log == nil {
				continue
			}
			if err := tx.Bucket(bucketJobLogs).Put([]byte(j.ID), j.Log); err != nil {
				return err
			}
		}
		return nil
	})
}

// Job returns a job's record and log (nil when none was stored), or
// ErrNotFound.
func (x *Index) Job(id string) (record, log []byte, err error) {
	err = x.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketJobs).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		record = append([]byte(nil), v...)
		if l := tx.Bucket(bucketJobLogs).Get([]byte(id)); l != nil {
			log = append([]byte(nil), l...)
		}
		return nil
	})
	return record, log, err
}

// JobsNewestFirst calls fn with job records from the newest id down,
// until fn returns false or an error. The record is valid during the call
// only.
func (x *Index) JobsNewestFirst(fn func(id string, record []byte) (bool, error)) error {
	return x.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketJobs).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			more, err := fn(string(k), v)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
}

// DeleteJobs removes the records and logs of the given jobs in one
// transaction; missing ones are no error.
func (x *Index) DeleteJobs(ids []string) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		for _, id := range ids {
			if err := tx.Bucket(bucketJobs).Delete([]byte(id)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketJobLogs).Delete([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
}
