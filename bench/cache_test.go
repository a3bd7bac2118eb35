package bench

import (
	"os"
	"path/filepath"
)

// cacheDir is where the corpus and the pinned tools are kept:
// SHADOWVAULT_CACHE, else ~/.cache/shadowvault.
func cacheDir() string {
	if c := os.Getenv("SHADOWVAULT_CACHE"); c != "" {
		return c
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "shadowvault")
}
