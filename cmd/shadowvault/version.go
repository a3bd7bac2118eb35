package main

import (
	"flag"
	"runtime"
	"runtime/debug"
)

var versionCmd = command{
	name:    "version",
	summary: "print the version of shadowvault, the commit it was built from and the Go version",
	about: `The module version and the VCS commit come from the build information Go
records (go build in a git checkout stamps the commit, its time and whether
the tree had changes); "unknown" where the build recorded none.
shadowvault --version prints the same.
`,
}

type versionOpts struct{ json bool }

func versionFlags() (*flag.FlagSet, *versionOpts) {
	fs := versionCmd.flagSet()
	o := &versionOpts{}
	fs.BoolVar(&o.json, "json", false, jsonHelp)
	return fs, o
}

// buildVersion is what version prints.
type buildVersion struct {
	Version  string `json:"version"`  // the module version, "(devel)" for a checkout
	Revision string `json:"revision"` // the VCS commit, "unknown" if none was recorded
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified"` // the tree had uncommitted changes
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// readVersion reads the build information of the running binary.
func readVersion() buildVersion {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = &debug.BuildInfo{}
	}
	return versionFrom(bi)
}

// versionFrom is the version that bi describes.
func versionFrom(bi *debug.BuildInfo) buildVersion {
	v := buildVersion{Version: "unknown", Revision: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (v buildVersion) String() string {
	s := "shadowvault " + v.Version + " commit " + v.Revision
	if v.Modified {
		s += " (modified)"
	}
	if v.Time != "" {
		s += " of " + v.Time
	}
	return s + ", " + v.Go + " " + v.Platform
}

func cmdVersion(args []string) int {
	fs, o := versionFlags()
	if pos := parseArgs(fs, args); len(pos) != 0 {
		return fail(usageErrorf("version takes no arguments"))
	}
	v := readVersion()
	if o.json {
		return printJSON(v)
	}
	printf("%s", v)
	return exitOK
}
