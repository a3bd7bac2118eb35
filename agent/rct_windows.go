//go:build windows

package agent

import (
	"context"
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Resilient change tracking through virtdisk.dll (Windows Server 2016 and
// later): OpenVirtualDisk with VIRTUAL_DISK_ACCESS_GET_INFO,
// GetVirtualDiskInformation(GET_VIRTUAL_DISK_INFO_CHANGE_TRACKING_STATE)
// for the current id, QueryChangesVirtualDisk for the changes since one.
var (
	virtdisk                      = windows.NewLazySystemDLL("virtdisk.dll")
	procOpenVirtualDisk           = virtdisk.NewProc("OpenVirtualDisk")
	procGetVirtualDiskInformation = virtdisk.NewProc("GetVirtualDiskInformation")
	procQueryChangesVirtualDisk   = virtdisk.NewProc("QueryChangesVirtualDisk")
)

const (
	virtualDiskAccessGetInfo         = 0x00080000
	openVirtualDiskVersion1          = 1
	getVirtualDiskInfoChangeTracking = 15
	virtualStorageTypeDeviceUnknown  = 0
	changeTrackingInfoBufferSize     = 1024
	changeTrackingIDOffset           = 16 // Version, padding to the union, Enabled, NewerChanges
	changeTrackingEnabledOffset      = 8
	queryChangesVirtualDiskFlagNone  = 0
	errorSuccess                     = 0
)

type virtualStorageType struct {
	DeviceID uint32
	VendorID windows.GUID
}

type openParameters struct {
	Version uint32
	RWDepth uint32
}

// openForInfo opens the disk at path for queries only.
func openForInfo(path string) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	vst := virtualStorageType{DeviceID: virtualStorageTypeDeviceUnknown}
	params := openParameters{Version: openVirtualDiskVersion1}
	var h windows.Handle
	r, _, _ := procOpenVirtualDisk.Call(uintptr(unsafe.Pointer(&vst)), uintptr(unsafe.Pointer(p)),
		virtualDiskAccessGetInfo, 0, uintptr(unsafe.Pointer(&params)), uintptr(unsafe.Pointer(&h)))
	if r != errorSuccess {
		return 0, fmt.Errorf("%w: OpenVirtualDisk %s: %v", errNoRCT, path, windows.Errno(r))
	}
	return h, nil
}

// rctState returns the disk's most recent change tracking id.
func rctState(path string) (string, error) {
	if err := procGetVirtualDiskInformation.Find(); err != nil {
		return "", fmt.Errorf("%w: %v", errNoRCT, err)
	}
	h, err := openForInfo(path)
	if err != nil {
		return "", err
	}
	defer windows.CloseHandle(h)
	buf := make([]byte, changeTrackingInfoBufferSize)
	binary.LittleEndian.PutUint32(buf, getVirtualDiskInfoChangeTracking)
	size := uint32(len(buf))
	r, _, _ := procGetVirtualDiskInformation.Call(uintptr(h), uintptr(unsafe.Pointer(&size)), uintptr(unsafe.Pointer(&buf[0])), 0)
	if r != errorSuccess {
		return "", fmt.Errorf("%w: change tracking state of %s: %v", errNoRCT, path, windows.Errno(r))
	}
	return parseChangeTrackingState(buf)
}

// rctChanges returns what changed on the disk at path since change
// tracking id.
func rctChanges(ctx context.Context, path, id string, size int64) ([]Change, error) {
	if err := procQueryChangesVirtualDisk.Find(); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoRCT, err)
	}
	h, err := openForInfo(path)
	if err != nil {
		return nil, err
	}
	defer windows.CloseHandle(h)
	idp, err := windows.UTF16PtrFromString(id)
	if err != nil {
		return nil, fmt.Errorf("%w: change tracking id %q: %v", errNoRCT, id, err)
	}
	return collectRCT(size, func(offset, length uint64, out []rctRange) (int, uint64, error) {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		count := uint32(len(out))
		var processed uint64
		r, _, _ := procQueryChangesVirtualDisk.Call(uintptr(h), uintptr(unsafe.Pointer(idp)), uintptr(offset), uintptr(length),
			queryChangesVirtualDiskFlagNone, uintptr(unsafe.Pointer(&out[0])), uintptr(unsafe.Pointer(&count)), uintptr(unsafe.Pointer(&processed)))
		if r != errorSuccess {
			// ERROR_INVALID_PARAMETER and friends: tracking off, or an
			// id that is no longer valid (the disk was reset or moved).
			return 0, 0, fmt.Errorf("%w: QueryChangesVirtualDisk since %q: %v", errNoRCT, id, windows.Errno(r))
		}
		return int(count), processed, nil
	})
}
