// Package e2e runs the built sender and receiver end to end, over real
// libp2p sockets on this machine, with scripts in testdata/*.txtar. It has
// no code of its own outside its tests.
package e2e
