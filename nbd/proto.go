package nbd

import "fmt"

// The protocol's numbers, from the NBD protocol specification
// (doc/proto.md of the NetworkBlockDevice/nbd project). Every field on the
// wire is big-endian.

// Magic numbers.
const (
	magicInit         uint64 = 0x4e42444d41474943 // "NBDMAGIC", opens the greeting
	magicOption       uint64 = 0x49484156454f5054 // "IHAVEOPT", in the greeting and before each option
	magicOptionReply  uint64 = 0x3e889045565a9    // before each option reply
	magicRequest      uint32 = 0x25609513         // before each request
	magicSimpleReply  uint32 = 0x67446698         // before each simple reply
	exportNameZeroPad        = 124                // zeroes after an NBD_OPT_EXPORT_NAME answer, unless NO_ZEROES
)

// handshakeFlags are the server's flags in the greeting.
type handshakeFlags uint16

const (
	handshakeFixedNewstyle handshakeFlags = 1 << 0
	handshakeNoZeroes      handshakeFlags = 1 << 1
)

// clientFlags are the client's answer to the greeting.
type clientFlags uint32

const (
	clientFixedNewstyle clientFlags = 1 << 0
	clientNoZeroes      clientFlags = 1 << 1
	clientKnown                     = clientFixedNewstyle | clientNoZeroes
)

// transmissionFlags describe the chosen export.
type transmissionFlags uint16

const (
	flagHasFlags     transmissionFlags = 1 << 0
	flagReadOnly     transmissionFlags = 1 << 1
	flagSendFlush    transmissionFlags = 1 << 2
	flagCanMultiConn transmissionFlags = 1 << 8
)

// exportFlags are what every export of this package offers: read-only,
// flush (a no-op), and several connections at once (there is no cache to
// keep coherent).
const exportFlags = flagHasFlags | flagReadOnly | flagSendFlush | flagCanMultiConn

// option is an option the client sends during the handshake.
type option uint32

const (
	optExportName      option = 1
	optAbort           option = 2
	optList            option = 3
	optPeekExport      option = 4
	optStartTLS        option = 5
	optInfo            option = 6
	optGo              option = 7
	optStructuredReply option = 8
	optListMetaContext option = 9
	optSetMetaContext  option = 10
	optExtendedHeaders option = 11
)

var optionNames = map[option]string{
	optExportName: "EXPORT_NAME", optAbort: "ABORT", optList: "LIST", optPeekExport: "PEEK_EXPORT",
	optStartTLS: "STARTTLS", optInfo: "INFO", optGo: "GO", optStructuredReply: "STRUCTURED_REPLY",
	optListMetaContext: "LIST_META_CONTEXT", optSetMetaContext: "SET_META_CONTEXT", optExtendedHeaders: "EXTENDED_HEADERS",
}

func (o option) String() string {
	if s, ok := optionNames[o]; ok {
		return "NBD_OPT_" + s
	}
	return fmt.Sprintf("option %d", uint32(o))
}

// replyType is the type of an option reply; errors have bit 31 set.
type replyType uint32

const (
	repAck     replyType = 1
	repServer  replyType = 2
	repInfo    replyType = 3
	repErrBase replyType = 1 << 31

	repErrUnsup   = repErrBase + 1
	repErrPolicy  = repErrBase + 2
	repErrInvalid = repErrBase + 3
	repErrUnknown = repErrBase + 6
	repErrTooBig  = repErrBase + 9
)

// infoType is an item of an NBD_REP_INFO reply (and of the client's
// requests in NBD_OPT_INFO and NBD_OPT_GO).
type infoType uint16

const (
	infoExport      infoType = 0
	infoName        infoType = 1
	infoDescription infoType = 2
	infoBlockSize   infoType = 3
)

// command is the type of a transmission request.
type command uint16

const (
	cmdRead        command = 0
	cmdWrite       command = 1
	cmdDisc        command = 2
	cmdFlush       command = 3
	cmdTrim        command = 4
	cmdCache       command = 5
	cmdWriteZeroes command = 6
	cmdBlockStatus command = 7
)

var commandNames = map[command]string{
	cmdRead: "READ", cmdWrite: "WRITE", cmdDisc: "DISC", cmdFlush: "FLUSH", cmdTrim: "TRIM",
	cmdCache: "CACHE", cmdWriteZeroes: "WRITE_ZEROES", cmdBlockStatus: "BLOCK_STATUS",
}

func (c command) String() string {
	if s, ok := commandNames[c]; ok {
		return "NBD_CMD_" + s
	}
	return fmt.Sprintf("command %d", uint16(c))
}

// commandFlags modify a request. Only FUA is tolerated (clients are known
// to set it on any command); this server never advertises any flag.
type commandFlags uint16

const cmdFlagFUA commandFlags = 1 << 0

// errno is the error field of a reply (0: success).
type errno uint32

const (
	errOK       errno = 0
	errPerm     errno = 1
	errIO       errno = 5
	errInval    errno = 22
	errShutdown errno = 108
)

func (e errno) String() string {
	switch e {
	case errOK:
		return "ok"
	case errPerm:
		return "EPERM"
	case errIO:
		return "EIO"
	case errInval:
		return "EINVAL"
	case errShutdown:
		return "ESHUTDOWN"
	}
	return fmt.Sprintf("errno %d", uint32(e))
}

// Block size constraints the server advertises (NBD_INFO_BLOCK_SIZE): any
// alignment, 4 KiB preferred, and requests of at most MaxBlockSize bytes.
const (
	MinBlockSize       = 1
	PreferredBlockSize = 4096
	MaxBlockSize       = 32 << 20
)

// Limits on what the handshake reads.
const (
	maxNameLen   = 4096 // the protocol's limit on strings
	maxOptionLen = 8192 // option data read into memory; more is skipped
)
