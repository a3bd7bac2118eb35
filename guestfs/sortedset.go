package guestfs

import "slices"

// sortedSet sorts and deduplicates xs, in place.
func sortedSet(xs []int64) []int64 {
	slices.Sort(xs)
	return slices.Clip(slices.Compact(xs))
}
