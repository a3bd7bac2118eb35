package layering

import (
	"slices"
	"testing"
)

// TestCheck runs the checker on synthetic import graphs, against Project, so
// that a broken rule is seen to fail.
func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		pkgs []Package
		want []Edge // the violating imports, in order
	}{
		{
			name: "the intended shape",
			pkgs: []Package{
				{Path: "chunk"},
				{Path: "vhd"},
				{Path: "vhd/vhdtest", Imports: []string{"vhd"}},
				{Path: "repo/backend"},
				{Path: "repo/backend/s3", Imports: []string{"repo/backend"}, TestImports: []string{"internal/miniotest", "repo/backend/backendtest"}},
				{Path: "repo/pack", Imports: []string{"chunk"}},
				{Path: "index", Imports: []string{"chunk"}, TestImports: []string{"repo/pack"}},
				{Path: "diskmap", Imports: []string{"chunk"}},
				{Path: "receipt", Imports: []string{"chunk"}},
				{Path: "apiv1", Imports: []string{"receipt"}},
				{Path: "ingest", Imports: []string{"chunk", "diskmap", "vhd"}, TestImports: []string{"vhd/vhdtest"}},
				{Path: "restore", Imports: []string{"chunk", "diskmap", "repo", "vhd"}},
				{Path: "guestfs", Imports: []string{"diskmap"}},
				{Path: "repo", Imports: []string{"chunk", "diskmap", "index", "repo/backend", "repo/pack"}},
				{Path: "api", Imports: []string{"apiv1", "ingest", "repo", "restore", "vhd"}, TestImports: []string{"api", "internal/testserver"}},
				{Path: "agent", Imports: []string{"apiv1", "guestfs", "receipt", "vhd"}, TestImports: []string{"internal/testserver", "repo"}},
				{Path: "internal/testserver", Imports: []string{"agent", "api", "repo"}},
				{Path: "cmd/shadowvault", Imports: []string{"agent", "api", "repo"}},
			},
		},
		{
			name: "a leaf imports a project package",
			pkgs: []Package{{Path: "chunk", Imports: []string{"vhd"}}},
			want: []Edge{{"chunk", "vhd"}},
		},
		{
			name: "index imports repo/pack",
			pkgs: []Package{{Path: "index", Imports: []string{"chunk", "repo/pack"}}},
			want: []Edge{{"index", "repo/pack"}},
		},
		{
			name: "a backend imports another",
			pkgs: []Package{{Path: "repo/backend/retry", Imports: []string{"repo/backend", "repo/backend/mem"}}},
			want: []Edge{{"repo/backend/retry", "repo/backend/mem"}},
		},
		{
			name: "the agent reaches into the repository",
			pkgs: []Package{{Path: "agent", Imports: []string{"index", "repo/backend", "vhd"}}},
			want: []Edge{{"agent", "index"}, {"agent", "repo/backend"}},
		},
		{
			name: "the server imports the client",
			pkgs: []Package{{Path: "api", Imports: []string{"agent", "repo"}}},
			want: []Edge{{"api", "agent"}},
		},
		{
			name: "the repository imports a data flow",
			pkgs: []Package{{Path: "repo", Imports: []string{"chunk", "ingest"}}},
			want: []Edge{{"repo", "ingest"}},
		},
		{
			name: "a test imports api",
			pkgs: []Package{{Path: "repo", TestImports: []string{"api", "internal/testserver"}}},
			want: []Edge{{"repo", "api"}},
		},
		{
			name: "the wire types import the server",
			pkgs: []Package{{Path: "apiv1", Imports: []string{"api", "receipt"}}},
			want: []Edge{{"apiv1", "api"}, {"apiv1", "api"}}, // two rules
		},
		{
			name: "something imports the command",
			pkgs: []Package{{Path: "internal/torture", TestImports: []string{"cmd/shadowvault"}}},
			want: []Edge{{"internal/torture", "cmd/shadowvault"}},
		},
		{
			name: "product code imports a test helper",
			pkgs: []Package{{Path: "repo", Imports: []string{"internal/testserver"}}},
			want: []Edge{{"repo", "internal/testserver"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := Project.Check(tt.pkgs)
			var got []Edge
			for _, v := range vs {
				got = append(got, v.Edge)
				t.Log(v)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("violations %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"repo", "repo", true},
		{"repo", "repo/pack", false},
		{"repo/...", "repo", true},
		{"repo/...", "repo/backend/s3", true},
		{"repo/...", "repository", false},
		{"api", "apiv1", false},
		{"...", "cmd/shadowvault", true},
	}
	for _, tt := range tests {
		if got := match(tt.pattern, tt.path); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

// TestExcuse checks that a known violation is set aside, and that one no
// longer seen is reported so that its entry can be deleted.
func TestExcuse(t *testing.T) {
	known := []Edge{{"index", "repo/pack"}, {"guestfs", "vhd"}}
	vs := Project.Check([]Package{
		{Path: "index", Imports: []string{"repo/pack"}},
		{Path: "chunk", Imports: []string{"vhd"}},
	})
	fresh, excused, gone := Excuse(vs, known)
	if len(fresh) != 1 || fresh[0].Edge != (Edge{"chunk", "vhd"}) {
		t.Errorf("fresh %v, want chunk -> vhd alone", fresh)
	}
	if len(excused) != 1 || excused[0].Edge != known[0] {
		t.Errorf("excused %v, want index -> repo/pack alone", excused)
	}
	if !slices.Equal(gone, known[1:]) {
		t.Errorf("gone %v, want %v", gone, known[1:])
	}
}
