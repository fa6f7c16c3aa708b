package dimse

import (
	"bufio"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"imageshare/internal/dataset"
)

// pipePair returns the two ends of an association over net.Pipe with the
// Study Root FIND context (ID 1) accepted in explicit VR little endian:
// an SCU, and a peer whose answers a test writes by hand.
func pipePair(t *testing.T) (scu, peer *Assoc) {
	c1, c2 := net.Pipe()
	mk := func(c net.Conn) *Assoc {
		return &Assoc{
			conn:     c,
			br:       bufio.NewReader(c),
			calling:  "TESTSCU",
			called:   "PACS",
			peerAddr: "pipe",
			contexts: map[byte]Context{1: {ID: 1, AbstractSyntax: StudyRootFind, TransferSyntaxes: []string{ExplicitVRLittleEndian}}},
			maxSend:  DefaultMaxPDU,
			maxRecv:  DefaultMaxPDU,
			idle:     wait,
			artim:    wait,
		}
	}
	scu, peer = mk(c1), mk(c2)
	t.Cleanup(func() { scu.close(); peer.close() })
	return scu, peer
}

// answer sends a C-FIND-RSP to rq with status and, if not nil, identifier.
func answer(t *testing.T, peer *Assoc, rq *Command, messageID uint16, status uint16, ident []byte) error {
	rsp := &Command{Field: CFindRSP, MessageIDRespondedTo: messageID, AffectedSOPClassUID: StudyRootFind, Status: status, HasDataSet: ident != nil}
	if err := peer.sendCommand(1, rsp); err != nil {
		return err
	}
	if ident == nil {
		return nil
	}
	w := peer.newWriter(1, false)
	w.Write(ident)
	return w.Close()
}

func TestFindRefusesBrokenResponses(t *testing.T) {
	ts := dataset.ExplicitLE
	study := func(uid string) []byte {
		b := ts.AppendText(nil, tagQueryRetrieveLevel, "CS", "STUDY")
		return ts.AppendText(b, tagStudyInstanceUID, "UI", uid)
	}
	overrun := ts.AppendHeader(study("1.2.3"), tagPatientID, "LO", 200)
	cases := []struct {
		name  string
		reply func(peer *Assoc, rq *Command) error
		want  error
	}{
		{"element past the end", func(p *Assoc, rq *Command) error {
			return answer(t, p, rq, rq.MessageID, StatusPending, append(overrun, "short"...))
		}, ErrIdentifier},
		{"unique key not a UID", func(p *Assoc, rq *Command) error {
			return answer(t, p, rq, rq.MessageID, StatusPending, study("1.02.x"))
		}, ErrIdentifier},
		{"another level", func(p *Assoc, rq *Command) error {
			b := ts.AppendText(nil, tagQueryRetrieveLevel, "CS", "SERIES")
			return answer(t, p, rq, rq.MessageID, StatusPending, ts.AppendText(b, tagStudyInstanceUID, "UI", "1.2.3"))
		}, ErrIdentifier},
		{"identifier beyond the cap", func(p *Assoc, rq *Command) error {
			b := ts.AppendHeader(study("1.2.3"), dataset.NewTag(0x0009, 0x1001), "OB", MaxIdentifier)
			return answer(t, p, rq, rq.MessageID, StatusPending, append(b, make([]byte, MaxIdentifier)...))
		}, ErrIdentifier},
		{"response to another message", func(p *Assoc, rq *Command) error {
			return answer(t, p, rq, rq.MessageID+1, StatusSuccess, nil)
		}, ErrMalformed},
		{"pending without identifier", func(p *Assoc, rq *Command) error {
			return answer(t, p, rq, rq.MessageID, StatusPending, nil)
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			scu, peer := pipePair(t)
			replied := make(chan error, 1)
			go func() {
				m, err := peer.readMessage()
				if err == nil {
					err = drain(m)
				}
				if err == nil {
					err = c.reply(peer, m.Command)
				}
				if err == nil {
					// The SCU aborts: the peer reads the A-ABORT.
					peer.conn.SetReadDeadline(time.Now().Add(wait))
					_, err = peer.readMessage()
					var ab *AbortedError
					if errors.As(err, &ab) {
						err = nil
					} else {
						err = errors.New("no A-ABORT after a broken response: " + errString(err))
					}
				}
				replied <- err
			}()
			ms, err := scu.Find(context.Background(), &Query{Level: StudyLevel})
			if err == nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("Find: %+v, %v; want %v", ms, err, c.want)
			} else {
				t.Log(err)
			}
			if err := <-replied; err != nil {
				t.Error(err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
