package agent

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"

	"github.com/shadowvault/shadowvault/apiv1"
)

// parseChangeTrackingState reads a GET_VIRTUAL_DISK_INFO of version
// GET_VIRTUAL_DISK_INFO_CHANGE_TRACKING_STATE: the version (4 bytes), the
// union aligned to 8, then Enabled and NewerChanges (BOOL, 4 bytes each)
// and MostRecentId, a NUL-terminated UTF-16 string.
func parseChangeTrackingState(buf []byte) (string, error) {
	if len(buf) < 18 {
		return "", fmt.Errorf("%w: change tracking state of %d bytes", errNoRCT, len(buf))
	}
	if binary.LittleEndian.Uint32(buf[8:]) == 0 {
		return "", fmt.Errorf("%w: change tracking is not enabled for the disk", errNoRCT)
	}
	var u []uint16
	for i := 16; i+1 < len(buf); i += 2 {
		c := binary.LittleEndian.Uint16(buf[i:])
		if c == 0 {
			id := string(utf16.Decode(u))
			if !apiv1.ValidRCTID(id) {
				return "", fmt.Errorf("%w: change tracking id %q", errNoRCT, id)
			}
			return id, nil
		}
		u = append(u, c)
	}
	return "", fmt.Errorf("%w: change tracking id without its end", errNoRCT)
}
