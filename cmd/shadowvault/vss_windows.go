//go:build windows

package main

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// vssVolumes finds the volume of every disk file and the free drive letters.
func vssVolumes(disks []string) (map[string]string, []string, error) {
	vols := map[string]string{}
	for _, d := range disks {
		p, err := windows.UTF16PtrFromString(d)
		if err != nil {
			return nil, nil, err
		}
		buf := make([]uint16, windows.MAX_PATH+1)
		if err := windows.GetVolumePathName(p, &buf[0], uint32(len(buf))); err != nil {
			return nil, nil, fmt.Errorf("volume of %s: %w", d, err)
		}
		vols[d] = windows.UTF16ToString(buf)
	}
	mask, err := windows.GetLogicalDrives()
	if err != nil {
		return nil, nil, err
	}
	var free []string
	for c := 'Z'; c >= 'G'; c-- {
		if mask&(1<<uint(c-'A')) == 0 {
			free = append(free, string(c)+":")
		}
	}
	return vols, free, nil
}
