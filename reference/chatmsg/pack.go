package chatmsg

// Connection is what a sender knows about a connection when it packs
// messages into bodies (CH-VER-4, CH-SIZE-1..4).
type Connection struct {
	Version uint16 // the connection's chat version
	Group   bool   // a group member connection
	PQ      bool   // the agent connection uses the post-quantum ratchet
	Info    bool   // connection info (one message) rather than message bodies
}

// CanBatch reports whether JSON batches may be sent (CH-FRAME-2).
func (c Connection) CanBatch() bool {
	if c.Info {
		return false
	}
	if c.Group {
		return c.Version >= VersionBatch
	}
	return c.Version >= VersionBatchDirect
}

// Limits returns the body limit before compression and the limit of a
// compressed body for the connection.
func (c Connection) Limits() (plain, compressed int) {
	if c.Info {
		return MaxEncodedInfoLength, MaxCompressedInfoLength
	}
	return MaxEncodedMsgLength, MaxCompressedMsgLength
}

// Pack turns encoded messages into the bodies to send, in order: batched
// when the connection allows, compressed when it must be (CH-SIZE-4). A
// message that cannot be sent within the limits is an ErrLimit error and
// nothing is returned (CH-SIZE-2).
func Pack(c Connection, msgs ...[]byte) ([][]byte, error) {
	plain, compLimit := c.Limits()
	if c.Info && len(msgs) != 1 {
		return nil, errf(ErrLimit, "", "connection info holds one message, got %d", len(msgs))
	}
	var bodies [][]byte
	if c.CanBatch() {
		var err error
		if bodies, err = Batch(plain, msgs...); err != nil {
			return nil, err
		}
	} else {
		for i, m := range msgs {
			if len(m) > plain {
				return nil, errf(ErrLimit, "message "+itoa(i), "%d bytes, limit %d", len(m), plain)
			}
			bodies = append(bodies, m)
		}
	}
	if !c.PQ || c.Version < VersionCompression {
		return bodies, nil
	}
	for i, b := range bodies {
		if len(b) <= compLimit {
			continue
		}
		z, err := Compress(b)
		if err != nil {
			return nil, err
		}
		if len(z) > compLimit {
			return nil, errf(ErrLimit, "body "+itoa(i), "compresses to %d bytes, limit %d", len(z), compLimit)
		}
		bodies[i] = z
	}
	return bodies, nil
}
