// Package pack writes and reads packs: immutable files of stored chunks.
//
// A pack is the chunks' stored bytes back to back, then a trailer with one
// entry per chunk, then a fixed footer:
//
//	blob 0 | blob 1 | ... | trailer | footer
//
//	trailer entry (49 bytes): chunk ID (32) | offset u64 | stored length u32 |
//	                          raw length u32 | compression u8
//	footer (48 bytes):        magic "SVPK" | version u16 | reserved u16 |
//	                          entry count u32 | trailer length u32 |
//	                          BLAKE3-256 of the trailer (32)
//
// All integers are little endian. A pack's name is the BLAKE3-256 of all its
// bytes. The trailer alone is enough to rebuild the index entries of a pack.
package pack
