// Package osservice runs sender serve and the relay as operating-system
// services, and installs them as such: on Windows with the service control
// manager (golang.org/x/sys/windows/svc and svc/mgr), logging to a file
// beside the state and to the Event Log. On Linux and macOS, systemd and
// launchd run the commands as they are: the units ship in dist/systemd and
// dist/launchd, and this package only says how to install them.
//
// Both commands use it in the same way. "sender service install -- FLAGS"
// registers a service that runs
//
//	C:\path\to\sender.exe serve --service FLAGS
//
// and the process the service control manager starts sees --service, runs
// the same code as "sender serve" with a context that a Stop or Shutdown
// request cancels, and reports StartPending, Running, StopPending and
// Stopped. What can be decided without Windows (the command line of the
// service, the parsing of "service ACTION", the states reported for each
// request, the log file and its rotation) is plain Go, tested on every
// platform; the Windows calls in windows.go are thin, compiled and vetted
// but not run by the tests.
package osservice
