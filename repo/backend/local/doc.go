// Package local keeps a shadowvault repository in a directory.
//
// Layout: <root>/<type>/<name>, with packs spread over 256 sub-directories
// by the first two digits of their name. Every Put follows the durability
// order of the design: write a temp file in the target directory, fsync it,
// close it, rename it into place, fsync the directory. A crash leaves either
// the old state or the new object, plus at worst a stray temp file (named
// ".tmp-*"), which List ignores and Open sweeps.
package local
