package dimse

// Event is what a Server reports. EventType names it.
type Event interface {
	EventType() string
}

// Peer names the other side of an association.
type Peer struct {
	CallingAE string `json:"calling_ae"`
	CalledAE  string `json:"called_ae"`
	Addr      string `json:"addr"`
}

// AssociationAccepted reports an association accepted, with the contexts
// accepted.
type AssociationAccepted struct {
	Peer
	Contexts int `json:"contexts"`
}

// AssociationRejected reports an A-ASSOCIATE-RJ sent, and why.
type AssociationRejected struct {
	Peer
	Reason string `json:"reason"`
}

// AssociationAborted reports an association that ended in an A-ABORT, sent
// by this side (ByPeer false: Reason says what the peer did wrong) or by
// the peer, or a connection lost.
type AssociationAborted struct {
	Peer
	ByPeer bool   `json:"by_peer"`
	Reason string `json:"reason"`
}

// AssociationReleased reports an association released in good order.
type AssociationReleased struct {
	Peer
}

// Echoed reports a C-ECHO answered.
type Echoed struct {
	Peer
}

// InstanceStored reports an instance received by C-STORE and stored.
type InstanceStored struct {
	Peer
	SOPClassUID       string `json:"sop_class_uid"`
	SOPInstanceUID    string `json:"sop_instance_uid"`
	TransferSyntaxUID string `json:"transfer_syntax_uid"`
	Path              string `json:"path,omitempty"`
	Bytes             int64  `json:"bytes"`
}

// StoreFailed reports a C-STORE answered with a failure status.
type StoreFailed struct {
	Peer
	SOPInstanceUID string `json:"sop_instance_uid"`
	Status         uint16 `json:"status"`
	Error          string `json:"error"`
}

func (*AssociationAccepted) EventType() string { return "dimse_association_accepted" }
func (*AssociationRejected) EventType() string { return "dimse_association_rejected" }
func (*AssociationAborted) EventType() string  { return "dimse_association_aborted" }
func (*AssociationReleased) EventType() string { return "dimse_association_released" }
func (*Echoed) EventType() string              { return "dimse_echoed" }
func (*InstanceStored) EventType() string      { return "dimse_instance_stored" }
func (*StoreFailed) EventType() string         { return "dimse_store_failed" }
