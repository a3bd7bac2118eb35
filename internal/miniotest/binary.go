package miniotest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Commit is the MinIO commit the tests run against; Version is its Go
// module version, as given to `go install github.com/minio/minio@Version`.
const (
	Commit  = "7aac2a2c5b7c"
	Version = "v0.0.0-20260212201848-" + Commit
)

// BinaryPath returns where the minio binary is expected:
// ${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/minio-<commit>/minio.
func BinaryPath() (string, error) {
	cache := os.Getenv("SHADOWVAULT_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("miniotest: no SHADOWVAULT_CACHE and no home directory: %w", err)
		}
		cache = filepath.Join(home, ".cache", "shadowvault")
	}
	return filepath.Join(cache, "minio-"+Commit, "minio"), nil
}

// Binary returns the path of the minio binary, or an error that tells how
// to build it.
func Binary() (string, error) {
	path, err := BinaryPath()
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("miniotest: no minio binary at %s: run `make test` or scripts/ensure-minio.sh to build it", path)
	case err != nil:
		return "", fmt.Errorf("miniotest: %w", err)
	case fi.Mode()&0o111 == 0:
		return "", fmt.Errorf("miniotest: %s is not executable: rerun scripts/ensure-minio.sh", path)
	}
	return path, nil
}
