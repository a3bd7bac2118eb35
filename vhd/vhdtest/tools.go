// Package vhdtest builds VHD, VHDX and raw disk fixtures for tests: with
// qemu-img (Debian package qemu-utils), NTFS content with mkntfs/ntfscp
// (ntfs-3g) and sfdisk (fdisk), and its own generators for what qemu cannot
// write (differencing disks, a VHDX with a log, metadata after the payload).
// Missing tools fail the test with the package to install; nothing is
// skipped silently.
package vhdtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var toolPackages = map[string]string{
	"qemu-img": "qemu-utils",
	"mkntfs":   "ntfs-3g",
	"ntfscp":   "ntfs-3g",
	"sfdisk":   "fdisk",
}

// Need fails the test unless the named tool is on PATH (or in /sbin).
func Need(t testing.TB, tool string) string {
	t.Helper()
	if p, err := exec.LookPath(tool); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(d, tool); fileExists(p) {
			return p
		}
	}
	t.Fatalf("%s not found: install the Debian package %s", tool, toolPackages[tool])
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Run runs a tool and returns its combined output; failure fails the test.
func Run(t testing.TB, tool string, args ...string) string {
	t.Helper()
	out, err := exec.Command(Need(t, tool), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// QemuImg runs qemu-img with args and returns its output.
func QemuImg(t testing.TB, args ...string) string {
	t.Helper()
	return Run(t, "qemu-img", args...)
}

// Convert converts the raw image at raw to format ("vpc", "vhd" or "vhdx")
// with qemu-img, passing opts as -o options, and returns the new path (next
// to raw, named after the options).
func Convert(t testing.TB, raw, format string, opts ...string) string {
	t.Helper()
	if format == "vhd" {
		format = "vpc"
	}
	ext := map[string]string{"vpc": ".vhd", "vhdx": ".vhdx"}[format]
	name := strings.TrimSuffix(raw, filepath.Ext(raw))
	for _, o := range opts {
		name += "_" + strings.NewReplacer("=", "-", ",", "_").Replace(o)
	}
	out := name + ext
	args := []string{"convert", "-f", "raw", "-O", format}
	if len(opts) > 0 {
		args = append(args, "-o", strings.Join(opts, ","))
	}
	QemuImg(t, append(args, raw, out)...)
	return out
}

// Compare fails the test unless qemu-img compare finds the two images
// identical (a longer image must be zero past the shorter one). Formats are
// probed; name raw images *.raw or *.img.
func Compare(t testing.TB, a, b string) {
	t.Helper()
	args := []string{"compare"}
	if f := formatOf(a); f != "" {
		args = append(args, "-f", f)
	}
	if f := formatOf(b); f != "" {
		args = append(args, "-F", f)
	}
	out, err := exec.Command(Need(t, "qemu-img"), append(args, a, b)...).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img compare %s %s: %v\n%s", a, b, err, out)
	}
}

func formatOf(p string) string {
	switch filepath.Ext(p) {
	case ".raw", ".img":
		return "raw"
	case ".vhd":
		return "vpc"
	case ".vhdx":
		return "vhdx"
	}
	return ""
}
