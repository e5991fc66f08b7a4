// test-sshd: an SSH server for the end-to-end tests only, so that a real `packer build` with the
// `null` builder has a machine to connect to without any cloud: Packer's SSH communicator reaches
// this machine through it. It listens on loopback, takes one public key (no password), runs each
// `exec` request with /bin/sh -c as the user running it, and serves the `sftp` subsystem (Packer's
// `ssh_file_transfer_method = "sftp"`: the hcp-sbom provisioner downloads the SBOM file through it).
//
// Usage: test-sshd -authorized-key FILE [-listen 127.0.0.1:0]
// It prints the address it listens on as its first line on stdout, then serves until killed.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/gliderlabs/ssh"
	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback only)")
	keyFile := flag.String("authorized-key", "", "the one public key allowed in (OpenSSH authorized_keys format)")
	flag.Parse()
	if !strings.HasPrefix(*listen, "127.0.0.1:") {
		log.Fatal("test-sshd listens on 127.0.0.1 only")
	}
	raw, err := os.ReadFile(*keyFile)
	if err != nil {
		log.Fatalf("reading -authorized-key: %v", err)
	}
	allowed, _, _, _, err := ssh.ParseAuthorizedKey(raw)
	if err != nil {
		log.Fatalf("parsing -authorized-key: %v", err)
	}
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(hostKey)
	if err != nil {
		log.Fatal(err)
	}
	server := &ssh.Server{
		Handler:           run,
		PublicKeyHandler:  func(_ ssh.Context, key ssh.PublicKey) bool { return ssh.KeysEqual(key, allowed) },
		SubsystemHandlers: map[string]ssh.SubsystemHandler{"sftp": serveSFTP},
		HostSigners:       []ssh.Signer{signer},
	}
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(listener.Addr().String())
	log.Fatal(server.Serve(listener))
}

// run executes an exec request's command with /bin/sh -c and answers its exit status.
func run(session ssh.Session) {
	command := session.RawCommand()
	if command == "" {
		_, _ = io.WriteString(session.Stderr(), "test-sshd runs commands only (no interactive shell)\n")
		_ = session.Exit(1)
		return
	}
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = session, session, session.Stderr()
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		_ = session.Exit(0)
	case errors.As(err, &exit):
		_ = session.Exit(exit.ExitCode())
	default:
		_, _ = fmt.Fprintf(session.Stderr(), "test-sshd: %v\n", err)
		_ = session.Exit(127)
	}
}

// serveSFTP serves the sftp subsystem on this machine's files.
func serveSFTP(session ssh.Session) {
	server, err := sftp.NewServer(session)
	if err != nil {
		log.Printf("sftp: %v", err)
		return
	}
	if err := server.Serve(); err != nil && !errors.Is(err, io.EOF) {
		log.Printf("sftp: %v", err)
	}
	_ = server.Close()
}
