// Package schedule is the model of a backup schedule held by the server:
// which hosts and VMs (shell globs), and when (a daily or weekly time
// window in a named time zone, or an interval), with the pure functions
// the server plans with. Nothing here reads a clock: every function takes
// the time it answers for, and the time of the VM's last successful
// backup, so that tests run on a fake clock.
//
// A window is a wall-clock span in its zone: it starts on each selected
// day (every day when none is selected) at Start and ends at End, on the
// next day when End is not after Start (a window over midnight belongs to
// the day it starts on). Windows are made one per calendar day, so a
// daylight saving change never drops or doubles one: a wall time that
// does not exist that day (02:30 on a spring-forward day in Europe/Berlin)
// moves forward by the length of the gap (03:30), and one that exists
// twice (02:30 on a fall-back day) is its first occurrence.
//
// A VM is due inside a window when it has no successful backup since the
// window started. An interval schedule makes a VM due when its last
// success is at least one interval old (or when it has none). The window
// that should hold a backup of an interval schedule is the interval after
// the one in which it became due: [last+I, last+2I).
//
// A VM missed its schedule when the last window that ended (at or before
// now) started after its last success: no backup was made in it, nor
// since. A VM with no successful backup at all missed every window that
// has ended.
package schedule
