package layering

import "testing"

// TestImportRules checks the module's imports against Project, as the module
// builds for linux and for windows.
func TestImportRules(t *testing.T) {
	for _, goos := range []string{"linux", "windows"} {
		t.Run(goos, func(t *testing.T) {
			pkgs, err := Load(goos)
			if err != nil {
				t.Fatal(err)
			}
			if len(pkgs) == 0 {
				t.Fatal("go list found no packages")
			}
			fresh, excused, gone := Excuse(Project.Check(pkgs), KnownViolations)
			for _, v := range excused {
				t.Logf("known violation: %s", v)
			}
			for _, v := range fresh {
				t.Error(v)
			}
			for _, e := range gone {
				t.Errorf("%s no longer imports %s: delete the edge from KnownViolations", e.From, e.To)
			}
		})
	}
}
