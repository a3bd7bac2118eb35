//go:build !windows

package main

import "errors"

func vssVolumes(disks []string) (map[string]string, []string, error) {
	return nil, nil, errors.New("--vss runs on a Windows Hyper-V host only (it drives diskshadow.exe)")
}
