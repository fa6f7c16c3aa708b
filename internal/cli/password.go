package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"imageshare/console"
)

// NewPassword reads a new password: from the terminal, asked twice and
// not echoed; or, when standard input is not a terminal (a script or an
// installer piping it in), its first line. Never from arguments, which
// every user of the machine can read.
func NewPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if !console.IsTerminal(stdin) {
		line, err := bufio.NewReader(io.LimitReader(stdin, 4<<10)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return "", errors.New("standard input held no password")
		}
		return line, nil
	}
	tty, err := console.OpenTTY()
	if err != nil {
		return "", fmt.Errorf("no terminal to ask the password on: pipe it on standard input: %w", err)
	}
	defer tty.Close()
	ask := func(q string) (string, error) {
		fmt.Fprint(tty, q)
		b, err := tty.ReadPassword()
		fmt.Fprintln(tty)
		return string(b), err
	}
	first, err := ask("New password: ")
	if err != nil {
		return "", err
	}
	second, err := ask("The same password again: ")
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("the two passwords differ: nothing was changed")
	}
	return first, nil
}
