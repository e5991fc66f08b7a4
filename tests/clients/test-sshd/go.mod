// A test-only SSH/SFTP server (main.go) for real `packer build` runs with the null builder.
module registry.test/clients/test-sshd

go 1.25.0

require (
	github.com/gliderlabs/ssh v0.3.8
	github.com/pkg/sftp v1.13.2
	golang.org/x/crypto v0.54.0
)

require (
	github.com/anmitsu/go-shlex v0.0.0-20200514113438-38f4b401e2be // indirect
	github.com/kr/fs v0.1.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
