package index

// PutSchedule stores a backup schedule record (JSON) under its name.
func (x *Index) PutSchedule(name string, record []byte) error {
	return x.put(bucketSchedules, name, record)
}

// DeleteSchedule removes a schedule; ErrNotFound when there is none.
func (x *Index) DeleteSchedule(name string) error { return x.del(bucketSchedules, name) }

// Schedules calls fn for every schedule, ordered by name.
func (x *Index) Schedules(fn func(name string, record []byte) error) error {
	return x.each(bucketSchedules, fn)
}

// PutInventory stores a host's inventory report (JSON).
func (x *Index) PutInventory(host string, record []byte) error {
	return x.put(bucketInventory, host, record)
}

// Inventories calls fn for every host's inventory report, ordered by host.
func (x *Index) Inventories(fn func(host string, record []byte) error) error {
	return x.each(bucketInventory, fn)
}
