package conformance

import (
	"bytes"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

func init() {
	register(
		mk("FR-BAD-PADDING", "framing", MUST, Negative, allVersions, "SMP-BLOCK-2 SMP-PAD-2 SMP-PAD-3",
			"a block whose padding length exceeds the block is answered ERR BLOCK and the connection goes on",
			func(t *T) {
				r := t.PlainSession(t.V)
				block := bytes.Repeat([]byte{'#'}, smp.BlockSize)
				block[0], block[1] = 0xff, 0xff
				_, err := r.Sess.Conn().Write(block)
				t.Check(err, "write block")
				r.WantErr(nil, smp.BLOCK)
				r.Alive()
			}),
		mk("FR-BATCH-ZERO", "framing", MUST, Negative, allVersions, "SMP-BATCH-1 SMP-BLOCK-2",
			"a batch with count 0 is answered ERR BLOCK",
			func(t *T) {
				r := t.RawSession(t.V)
				t.Check(r.Sess.WriteBlock([]byte{0}), "write")
				r.WantErr(nil, smp.BLOCK)
				r.Alive()
			}),
		mk("FR-BATCH-SHORT", "framing", MUST, Negative, allVersions, "SMP-BATCH-1",
			"a batch announcing more transmissions than it holds is answered ERR BLOCK",
			func(t *T) {
				r := t.RawSession(t.V)
				b := wire.NewBuilder(nil)
				b.Byte(2)
				b.Large(r.Tx(corrID(), nil, []byte("PING")))
				content, _ := b.Bytes()
				t.Check(r.Sess.WriteBlock(content), "write")
				r.WantErr(nil, smp.BLOCK)
				r.Alive()
			}),
		mk("FR-BATCH-TRAILING", "framing", MUST, Negative, allVersions, "SMP-BATCH-1",
			"bytes after the last transmission of a batch make the block ERR BLOCK",
			func(t *T) {
				r := t.RawSession(t.V)
				b := wire.NewBuilder(nil)
				b.Byte(1)
				b.Large(r.Tx(corrID(), nil, []byte("PING")))
				b.Raw([]byte("xx"))
				content, _ := b.Bytes()
				t.Check(r.Sess.WriteBlock(content), "write")
				r.WantErr(nil, smp.BLOCK)
				r.Alive()
			}),
		mk("FR-TX-UNFRAMED", "framing", MUST, Negative, allVersions, "SMP-TX-5",
			"a transmission that does not split into its fields is answered ERR BLOCK with empty ids",
			func(t *T) {
				r := t.RawSession(t.V)
				t.Check(r.Sess.WriteTransmissions([][]byte{{0x00, 0x30}}), "write")
				r.WantErrFor(nil, nil, smp.BLOCK)
				r.Alive()
			}),
		mk("FR-AUTH-LENGTH", "framing", MUST, Negative, allVersions, "SMP-AUTH-3",
			"an authorization of an invalid length is answered ERR BLOCK with the correlation id",
			func(t *T) {
				r := t.RawSession(t.V)
				corr := corrID()
				tx, err := smp.EncodeTransmission(r.Sess.Version, smp.Transmission{Auth: make([]byte, 10), SessionID: r.Sess.SessionID, CorrID: corr, EntityID: make([]byte, 24), Command: []byte("SUB")})
				t.Check(err, "encode")
				t.Check(r.Sess.WriteTransmissions([][]byte{tx}), "write")
				r.WantErrFor(corr, nil, smp.BLOCK)
			}),
		mk("FR-V6-SESSION", "framing", MUST, Negative, smp.VersionRange{Min: 6, Max: 6}, "SMP-TX-4 SMP-TX-1",
			"in v6 a transmission naming another session is answered ERR SESSION",
			func(t *T) {
				r := t.RawSession(6)
				corr := corrID()
				tx, err := smp.EncodeTransmission(6, smp.Transmission{SessionID: make([]byte, 32), CorrID: corr, Command: []byte("PING")})
				t.Check(err, "encode")
				t.Check(r.Sess.WriteTransmissions([][]byte{tx}), "write")
				r.WantErrFor(corr, nil, smp.SESSION)
			}),
		mk("FR-CMD-UNKNOWN", "framing", MUST, Negative, allVersions, "SMP-PARSE-1 SMP-ERR-1 SMP-RSP-ERR-1 SMP-ERR-4",
			"an unknown tag, and a response tag sent as a command, are answered ERR CMD UNKNOWN",
			func(t *T) {
				r := t.RawSession(t.V)
				for _, cmd := range []string{"FOO", "PONG", "MSG x"} {
					corr := corrID()
					t.Check(r.Sess.WriteTransmissions([][]byte{r.Tx(corr, nil, []byte(cmd))}), "write")
					r.WantErr(corr, smp.CMDUnknown)
				}
			}),
		mk("FR-CMD-SYNTAX", "framing", MUST, Negative, allVersions, "SMP-PARSE-2 SMP-PARSE-3",
			"known tags with bad parameters are answered ERR CMD SYNTAX",
			func(t *T) {
				r := t.RawSession(t.V)
				for _, cmd := range []string{"SEND", "SEND T", "ACK", "KEY \x03abc", "PING x", "NEW"} {
					corr := corrID()
					ent := corrID()
					t.Check(r.Sess.WriteTransmissions([][]byte{r.Tx(corr, ent, []byte(cmd))}), "write")
					r.WantErrFor(corr, ent, smp.CMDSyntax)
				}
			}),
		mk("FR-BATCH-MANY", "framing", MUST, Positive, allVersions, "SMP-BATCH-2 SMP-BATCH-3 SMP-BLOCK-1 SMP-PAD-1 SMP-TX-3 SMP-TX-6 SMP-ENC-4 SMP-ENC-5",
			"every transmission of a batch of 40 is answered with its correlation id",
			func(t *T) {
				r := t.RawSession(t.V)
				want := map[string]bool{}
				var txs [][]byte
				for range 40 {
					c := corrID()
					want[string(c)] = true
					txs = append(txs, r.Tx(c, nil, []byte("PING")))
				}
				t.Check(r.Sess.WriteTransmissions(txs), "write")
				for len(want) > 0 {
					tx, rsp := r.Read()
					if rsp.Tag() != "PONG" || !want[string(tx.CorrID)] {
						t.Failf("got %s for correlation id %x", describe(rsp), tx.CorrID)
					}
					delete(want, string(tx.CorrID))
				}
			}),
		mk("FR-CRED", "framing", MUST, Both, allVersions, "SMP-CRED-1",
			"authorization and entity id presence is checked per command",
			func(t *T) {
				cl := t.Client(t.V)
				k := t.Key(smpcrypto.Ed25519)
				dh := t.Key(smpcrypto.X25519)
				id := make([]byte, 24)
				newCmd := smp.CmdNEW{RcvAuthKey: k.Public(), RcvDHKey: dh.Public(), SubMode: smp.SubModeSubscribe}
				if t.V >= smp.VersionSndAuthKey {
					newCmd.QueueReq = &smp.QueueReq{Mode: smp.QueueMessaging}
				}
				t.WantErr(cl, client.Request{Command: newCmd}, smp.CMDNoAuth)
				t.WantErr(cl, client.Request{Key: k, EntityID: id, Command: newCmd}, smp.CMDHasAuth)
				t.WantErr(cl, client.Request{Command: smp.CmdSEND{Body: []byte("x")}}, smp.CMDNoEntity)
				t.WantErr(cl, client.Request{EntityID: id, Command: smp.CmdPING{}}, smp.CMDHasAuth)
				t.WantErr(cl, client.Request{Key: k, Command: smp.CmdPING{}}, smp.CMDHasAuth)
				t.WantErr(cl, client.Request{EntityID: id, Command: smp.CmdSUB{}}, smp.CMDNoAuth)
				t.WantErr(cl, client.Request{Key: k, Command: smp.CmdSUB{}}, smp.CMDNoAuth)
				t.WantErr(cl, client.Request{EntityID: id, Command: smp.CmdACK{MsgID: id}}, smp.CMDNoAuth)
				if t.V >= smp.VersionShortLinks {
					t.WantErr(cl, client.Request{Command: smp.CmdLGET{}}, smp.CMDNoEntity)
					t.WantErr(cl, client.Request{Key: k, EntityID: id, Command: smp.CmdLGET{}}, smp.CMDHasAuth)
				}
			}),
	)
}

// PlainSession is a raw session without block encryption (the client
// sends no key), so that the case controls every byte of a block.
func (t *T) PlainSession(v smp.Version) *Raw {
	return t.rawSession(client.Config{Versions: smp.VersionRange{Min: v, Max: v}, NoDHKey: true})
}
