package miniotest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill minio when the test binary dies,
// so that a crashed or killed test run leaves no server behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
