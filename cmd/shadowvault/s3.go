package main

import (
	"context"
	"errors"

	"github.com/shadowvault/shadowvault/repo/backend"
)

func openS3(ctx context.Context, url string) (backend.Backend, string, error) {
	return nil, "", errors.New("s3 repositories: not wired yet")
}
