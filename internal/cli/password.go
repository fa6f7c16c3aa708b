package cli

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"imageshare/console"
	"imageshare/station"
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

// PasswordCommand is `sender station password` and `receiver station
// password`: it sets a login's password in a station's password file,
// asking for it as NewPassword does. usage makes the command's usage
// error (exit 2) from a message; -h gives flag.ErrHelp.
func PasswordCommand(program string, args []string, stdin io.Reader, stderr io.Writer, usage func(string) error) error {
	fs := flag.NewFlagSet(program+" station password", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("password-file", "", "")
	user := fs.String("user", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return flag.ErrHelp
		}
		return usage(FlagMessage(err))
	}
	if fs.NArg() > 0 {
		return usage("station password takes no arguments: the password is asked for on the terminal or read from standard input, never given as an argument")
	}
	if *file == "" || *user == "" {
		return usage("give --password-file FILE and --user NAME")
	}
	password, err := NewPassword(stdin, stderr)
	if err != nil {
		return err
	}
	if err := station.SetPassword(*file, *user, password); err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	fmt.Fprintf(stderr, "%s: %s can log in to the station (%s) (a running station reads the file again at the next login)\n", program, *user, *file)
	return nil
}
