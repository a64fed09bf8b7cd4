package vectors

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/ratchet"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// Known answers from upstream's own tests (simplexmq). Every text here is
// a literal, or the concatenation of literals, that an upstream test
// asserts; every expected value is the Haskell value that test compares
// with, written out by hand. Nothing in this file is computed with our own
// parsers: the verifier runs them against these facts.

func init() {
	Register(Topic{Path: "graph-chat/upstream-literals.json", Generate: genUpstream, Verify: verifyUpstream})
}

const (
	srcConnReq     = "simplexmq tests/AgentTests/ConnectionRequestTests.hs"
	srcServerTests = "simplexmq tests/ServerTests.hs"
)

// UpQueue is a queue URI's value (SMPQueueUri).
type UpQueue struct {
	Hosts    []string `json:"hosts"`
	Port     string   `json:"port,omitempty"` // empty: the default
	KeyHash  Hex      `json:"key_hash"`
	SenderID Hex      `json:"sender_id,omitempty"`
	Versions []int    `json:"versions,omitempty"` // client version range
	DHKey    Hex      `json:"dh_key,omitempty"`   // SPKI
	Mode     string   `json:"mode,omitempty"`
}

// upValue is what upstream parses a literal to; the fields used depend on kind.
type upValue struct {
	// queue, server
	*UpQueue
	// invitation, contact
	AgentVersions []int     `json:"agent_versions,omitempty"`
	Queues        []UpQueue `json:"queues,omitempty"`
	E2EVersions   []int     `json:"e2e_versions,omitempty"`
	E2EKey1       Hex       `json:"e2e_key1,omitempty"`
	E2EKey2       Hex       `json:"e2e_key2,omitempty"`
	Data          *string   `json:"data,omitempty"`
	// spki
	Alg  string `json:"alg,omitempty"`
	SPKI Hex    `json:"spki,omitempty"`
	// short-link (and the relay in the embedded fields)
	Scheme   string `json:"scheme,omitempty"`    // simplex | https
	LinkType string `json:"link_type,omitempty"` // i, or a contact type a c g r
	LinkID   Hex    `json:"link_id,omitempty"`
	LinkKey  Hex    `json:"link_key,omitempty"`
}

type upstreamCase struct {
	Case
	Source string `json:"source"` // file of the upstream test
	// Name is the Haskell value the test compares with.
	Name string `json:"name,omitempty"`
	// Assertion: "parse+print" (#==#: parses to the value and the value
	// prints as text), "parse" (#==: parses to the value), "value" (a test
	// fixture read with fromString).
	Assertion string   `json:"assertion"`
	Kind      string   `json:"kind"` // queue | invitation | contact | server | server-auth | spki-base64 | short-link | ratchet-length
	Text      string   `json:"text,omitempty"`
	ParsesTo  *upValue `json:"parses_to,omitempty"`
	// PrintsAs is what upstream's encoder prints for the value: the text
	// of the parse+print literal of the same value, or the encoder's rule
	// applied to it where no literal prints it.
	PrintsAs string `json:"prints_as,omitempty"`
	// Ratchet is a ratchet message size upstream asserts (kind ratchet-length).
	Ratchet *upRatchet `json:"ratchet,omitempty"`
	// Ours is "same" when ours parses to the value and prints PrintsAs, or
	// "unsupported" (ours must reject the text; Reason says why).
	Ours   string `json:"ours"`
	Reason string `json:"reason,omitempty"`
}

// upRatchet: an encrypted ratchet message of a body padded to PaddedLen is
// Length bytes long (DoubleRatchetTests.hs fullMsgLen: header length
// bytes + 2 + 1 + padded header + 16 + 16, then the body tag and body).
type upRatchet struct {
	Version   int  `json:"version"`
	PQSupport bool `json:"pq_support"`
	PaddedLen int  `json:"padded_len"`
	Length    int  `json:"length"`
}

func stdB64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// urlQ is http-types' urlEncode True, which upstream's tests use.
func urlQ(s string) string { return smp.QueryEscape(s) }

func genUpstream() (any, error) {
	f := File[upstreamCase]{
		Topic: "known answers from upstream's own tests",
		Description: "Each case is a literal link, queue URI, relay address or key asserted in a simplexmq test (source), " +
			"with the value upstream parses it to (parses_to: byte strings hex, keys as SPKI hex) and what upstream " +
			"prints that value as (prints_as). ours = same: parsing text must give parses_to and printing it prints_as. " +
			"ours = unsupported: a form this kit does not implement (reason; spec/graph-chat.md GC-LINK-3); parsing its text must fail. " +
			"kind ratchet-length: an encrypted ratchet message of a body padded to padded_len is length bytes (GC-RATCHET-7). " +
			"DoubleRatchetTests.hs asserts message sizes (ratchet-length) and otherwise no wire literal (its one other literal is " +
			"upstream's JSON storage of a ratchet); the binary encodings of ConnectionRequestTests.hs are round trips without " +
			"literal bytes, so they add no case.",
		Spec: "spec/graph-chat.md §2",
	}
	// ConnectionRequestTests.hs fixtures.
	keyHash := []byte("\xd7m\xf8\xfb") // C.KeyHash "\215m\248\251"
	sid := []byte("\xdf\x8ez\xfb")     // EntityId "\223\142z\251"
	const onion = "jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid.onion"
	testDhKey := stdB64("MCowBQYDK2VuAyEAjiswwI3O/NlS8Fk3HJUW870EY2bAwmttMBsvRB9eV3o=")
	testDhKeyStr := base64.URLEncoding.EncodeToString(testDhKey) // strEncode testDhKey
	testDhPubKey := stdB64("MEIwBQYDK2VvAzkAmKuSYeQ/m0SixPDS8Wq8VBaTS1cW+Lp0n0h4Diu+kUpR+qXx4SDJ32YGEFoGFGSbGPry5Ychr6U=")
	q := func(hosts []string, port string, v [2]int, mode string) UpQueue {
		return UpQueue{Hosts: hosts, Port: port, KeyHash: keyHash, SenderID: sid, Versions: v[:], DHKey: testDhKey, Mode: mode}
	}
	both := []string{"smp.simplex.im", onion}
	one := []string{"smp.simplex.im"}
	v14, v24, v11 := [2]int{1, 4}, [2]int{2, 4}, [2]int{1, 1}
	queue := q(both, "5223", v14, "m")
	queueNoQM := q(both, "5223", v14, "")
	queueContact := q(both, "5223", v14, "c")
	queue1 := q(one, "5223", v14, "m")
	queueV1 := q(both, "5223", v11, "")
	queueV1NoPort := q(both, "", v11, "")
	queueNew := q(both, "5223", v24, "m")
	queueNew1 := q(one, "5223", v24, "m")
	queueNewNoPort := q(both, "", v24, "m")
	queueNew1NoPort := q(one, "", v24, "m")

	const pfx = "smp://1234-w==@smp.simplex.im:5223/3456-w==#/?v=1-4&dh="
	queueStr := pfx + urlQ(testDhKeyStr) + "&q=m&k=s" + "&srv=" + onion
	queueStrNoQM := pfx + urlQ(testDhKeyStr) + "&srv=" + onion
	queueStrContact := pfx + urlQ(testDhKeyStr) + "&q=c" + "&srv=" + onion
	queue1Str := pfx + urlQ(testDhKeyStr) + "&q=m&k=s"
	newPfx := "smp://1234-w==@smp.simplex.im," + onion + ":5223/3456-w==#/?v=2-4&dh="
	queueNewStr := newPfx + urlQ(testDhKeyStr) + "&q=m&k=s"
	queueNewStr2 := newPfx + testDhKeyStr + "&q=m&k=s"
	queueNew1Str := "smp://1234-w==@smp.simplex.im:5223/3456-w==#/?v=2-4&dh=" + urlQ(testDhKeyStr) + "&q=m&k=s"
	queueV1Str := "smp://1234-w==@smp.simplex.im:5223/3456-w==#/?v=1&dh=" + urlQ(testDhKeyStr) + "&srv=" + onion
	queueV1NoPortStr := "smp://1234-w==@smp.simplex.im/3456-w==#/?v=1&dh=" + urlQ(testDhKeyStr) + "&srv=" + onion
	queueNewNoPortStr := "smp://1234-w==@smp.simplex.im," + onion + "/3456-w==#/?v=2-4&dh=" + urlQ(testDhKeyStr) + "&q=m&k=s"
	queueNew1NoPortStr := "smp://1234-w==@smp.simplex.im/3456-w==#/?v=2-4&dh=" + urlQ(testDhKeyStr) + "&q=m&k=s"

	n := 0
	add := func(c upstreamCase) {
		n++
		c.ID = fmt.Sprintf("%s-%02d", strings.SplitN(c.Kind, "-", 2)[0], n)
		c.Valid = c.Ours == "same"
		if c.Spec == "" {
			c.Spec = map[string]string{"queue": "SMP-URI-1", "server": "SMP-ADDR-1", "server-auth": "SMP-ADDR-1", "invitation": "GC-LINK-1",
				"contact": "GC-LINK-2", "spki-base64": "SMP-KEY-2", "short-link": "GC-LINK-4"}[c.Kind]
		}
		if !c.Valid {
			c.Error = "unsupported"
		}
		f.Cases = append(f.Cases, c)
	}
	queueCase := func(name, assertion, text string, v UpQueue, printed string) {
		vv := v
		add(upstreamCase{Source: srcConnReq, Name: name, Assertion: assertion, Kind: "queue", Text: text, ParsesTo: &upValue{UpQueue: &vv}, PrintsAs: printed, Ours: "same"})
	}
	// "should serialize and parse SMP queue URIs"
	queueCase("queue", "parse+print", queueStr, queue, queueStr)
	queueCase("queue", "parse", "smp://1234-w==@smp.simplex.im:5223/3456-w==#"+testDhKeyStr+"/?v=1-4&extra_param=abc&srv="+onion+"&q=m&k=s", queue, queueStr)
	queueCase("queueNoQM", "parse+print", queueStrNoQM, queueNoQM, queueStrNoQM)
	queueCase("queueContact", "parse+print", queueStrContact, queueContact, queueStrContact)
	queueCase("queue1", "parse+print", queue1Str, queue1, queue1Str)
	queueCase("queueNew", "parse+print", queueNewStr, queueNew, queueNewStr)
	queueCase("queueNew", "parse", queueNewStr2, queueNew, queueNewStr)
	queueCase("queueNew1", "parse+print", queueNew1Str, queueNew1, queueNew1Str)
	queueCase("queueNewNoPort", "parse+print", queueNewNoPortStr, queueNewNoPort, queueNewNoPortStr)
	queueCase("queueNew1NoPort", "parse+print", queueNew1NoPortStr, queueNew1NoPort, queueNew1NoPortStr)
	queueCase("queueV1", "parse+print", queueV1Str, queueV1, queueV1Str)
	queueCase("queueV1", "parse", "smp://1234-w==@smp.simplex.im,"+onion+":5223/3456-w==#"+testDhKeyStr, queueV1, queueV1Str)
	queueCase("queueV1", "parse", "smp://1234-w==@smp.simplex.im:5223/3456-w==#/?extra_param=abc&v=1&dh="+testDhKeyStr+"&srv="+onion, queueV1, queueV1Str)
	queueCase("queueV1", "parse", "smp://1234-w==@smp.simplex.im:5223/3456-w==#"+testDhKeyStr+"/?v=1&extra_param=abc&srv="+onion, queueV1, queueV1Str)
	queueCase("queueV1NoPort", "parse+print", queueV1NoPortStr, queueV1NoPort, queueV1NoPortStr)
	queueCase("queueV1NoPort", "parse", "smp://1234-w==@smp.simplex.im/3456-w==#/?v=1-1&dh="+urlQ(testDhKeyStr)+"&srv="+onion, queueV1NoPort, queueV1NoPortStr)
	queueCase("queueV1NoPort", "parse", "smp://1234-w==@smp.simplex.im,"+onion+"/3456-w==#"+testDhKeyStr, queueV1NoPort, queueV1NoPortStr)

	// "should serialize and parse connection invitations and contact addresses"
	e2eStr := "v%3D1%26x3dh%3DMEIwBQYDK2VvAzkAmKuSYeQ_m0SixPDS8Wq8VBaTS1cW-Lp0n0h4Diu-kUpR-qXx4SDJ32YGEFoGFGSbGPry5Ychr6U%3D%2CMEIwBQYDK2VvAzkAmKuSYeQ_m0SixPDS8Wq8VBaTS1cW-Lp0n0h4Diu-kUpR-qXx4SDJ32YGEFoGFGSbGPry5Ychr6U%3D"
	inv := func(agentV [2]int, qs []UpQueue, data *string) *upValue {
		return &upValue{AgentVersions: agentV[:], Queues: qs, E2EVersions: []int{1, 1}, E2EKey1: testDhPubKey, E2EKey2: testDhPubKey, Data: data}
	}
	contact := func(agentV [2]int, qs []UpQueue, data *string) *upValue {
		return &upValue{AgentVersions: agentV[:], Queues: qs, Data: data}
	}
	a27, a11, a22 := [2]int{2, 7}, [2]int{1, 1}, [2]int{2, 2}
	linkCase := func(kind, name, assertion, text string, v *upValue, printed string) {
		add(upstreamCase{Source: srcConnReq, Name: name, Assertion: assertion, Kind: kind, Text: text, ParsesTo: v, PrintsAs: printed, Ours: "same"})
	}
	invStr := func(scheme, v, qs string) string {
		return scheme + "/invitation#/?v=" + v + "&smp=" + urlQ(qs) + "&e2e=" + e2eStr
	}
	ctStr := func(scheme, v, qs string) string { return scheme + "/contact#/?v=" + v + "&smp=" + urlQ(qs) }
	const sx, web = "simplex:", "https://simplex.chat"
	linkCase("invitation", "connectionRequest", "parse+print", invStr(sx, "2-7", queueStr), inv(a27, []UpQueue{queue}, nil), invStr(sx, "2-7", queueStr))
	linkCase("invitation", "connectionRequest", "parse", invStr(web, "2-7", queueStr), inv(a27, []UpQueue{queue}, nil), invStr(sx, "2-7", queueStr))
	linkCase("invitation", "connectionRequestNoQM", "parse+print", invStr(sx, "2-7", queueStrNoQM), inv(a27, []UpQueue{queueNoQM}, nil), invStr(sx, "2-7", queueStrNoQM))
	linkCase("invitation", "connectionRequest1", "parse+print", invStr(sx, "2-7", queue1Str), inv(a27, []UpQueue{queue1}, nil), invStr(sx, "2-7", queue1Str))
	linkCase("invitation", "connectionRequest2queues", "parse+print", invStr(sx, "2-7", queueStr+";"+queueStr), inv(a27, []UpQueue{queue, queue}, nil), invStr(sx, "2-7", queueStr+";"+queueStr))
	linkCase("invitation", "connectionRequestNew", "parse+print", invStr(sx, "2-7", queueNewStr), inv(a27, []UpQueue{queueNew}, nil), invStr(sx, "2-7", queueNewStr))
	linkCase("invitation", "connectionRequestNew1", "parse+print", invStr(sx, "2-7", queueNew1Str), inv(a27, []UpQueue{queueNew1}, nil), invStr(sx, "2-7", queueNew1Str))
	linkCase("invitation", "connectionRequest2queuesNew", "parse+print", invStr(sx, "2-7", queueNewStr+";"+queueNewStr), inv(a27, []UpQueue{queueNew, queueNew}, nil), invStr(sx, "2-7", queueNewStr+";"+queueNewStr))
	// Invitation ranges are not adjusted; printed by the encoder's rule.
	linkCase("invitation", "connectionRequestV1", "parse", invStr(web, "1", queueStr), inv(a11, []UpQueue{queue}, nil), invStr(sx, "1", queueStr))
	empty := "{}"
	linkCase("invitation", "connectionRequestClientDataEmpty", "parse+print", invStr(sx, "2-7", queueStr)+"&data="+urlQ(empty), inv(a27, []UpQueue{queue}, &empty), invStr(sx, "2-7", queueStr)+"&data="+urlQ(empty))
	linkCase("contact", "contactAddress", "parse+print", ctStr(sx, "2-7", queueStr), contact(a27, []UpQueue{queue}, nil), ctStr(sx, "2-7", queueStr))
	linkCase("contact", "contactAddress", "parse", ctStr(web, "2-7", queueStr), contact(a27, []UpQueue{queue}, nil), ctStr(sx, "2-7", queueStr))
	linkCase("contact", "contactAddress2queues", "parse+print", ctStr(sx, "2-7", queueStr+";"+queueStr), contact(a27, []UpQueue{queue, queue}, nil), ctStr(sx, "2-7", queueStr+";"+queueStr))
	linkCase("contact", "contactAddressNew", "parse+print", ctStr(sx, "2-7", queueNewStr), contact(a27, []UpQueue{queueNew}, nil), ctStr(sx, "2-7", queueNewStr))
	linkCase("contact", "contactAddress2queuesNew", "parse+print", ctStr(sx, "2-7", queueNewStr+";"+queueNewStr), contact(a27, []UpQueue{queueNew, queueNew}, nil), ctStr(sx, "2-7", queueNewStr+";"+queueNewStr))
	linkCase("contact", "contactAddressV2", "parse+print", ctStr(sx, "2", queueStr), contact(a22, []UpQueue{queue}, nil), ctStr(sx, "2", queueStr))
	linkCase("contact", "contactAddressV2", "parse", ctStr(web, "1", queueStr), contact(a22, []UpQueue{queue}, nil), ctStr(sx, "2", queueStr))
	linkCase("contact", "contactAddressV2", "parse", ctStr(web, "1-2", queueStr), contact(a22, []UpQueue{queue}, nil), ctStr(sx, "2", queueStr))
	linkCase("contact", "contactAddressV2", "parse", ctStr(web, "2-2", queueStr), contact(a22, []UpQueue{queue}, nil), ctStr(sx, "2", queueStr))
	groupData := `{"type":"group_link", "group_link_id":"abc"}`
	linkCase("contact", "contactAddressClientData", "parse+print", ctStr(sx, "2-7", queueStr)+"&data="+urlQ(groupData), contact(a27, []UpQueue{queue}, &groupData), ctStr(sx, "2-7", queueStr)+"&data="+urlQ(groupData))

	// "should serialize / parse short links" and "should shorten / restore short links".
	const lk = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"
	const lid = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"
	const hq = "?h=" + onion + "&p=5223&c=1234-w"
	const hqs = "?h=smp.simplex.im%2C" + onion + "&p=5223&c=1234-w"
	linkKey := []byte("0123456789abcdef0123456789abcdef") // LinkKey "0123456789abcdef0123456789abcdef"
	linkID := []byte("0123456789abcdef01234567")          // EntityId "0123456789abcdef01234567"
	lcju := stdB64("LcJUMfVhwD8yxjAiSaDzzGF3+kLG4Uh0Fl/ZIjrRwjI=")
	rawURL := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			panic(err)
		}
		return b
	}
	srvQ := UpQueue{Hosts: both, Port: "5223", KeyHash: keyHash}
	shortSrvQ := UpQueue{Hosts: one, KeyHash: []byte{}} // SMPServer "smp.simplex.im" "" (C.KeyHash "")
	localQ := UpQueue{Hosts: []string{"localhost"}, Port: "7001", KeyHash: lcju}
	localOnlyQ := UpQueue{Hosts: []string{"localhost"}, KeyHash: []byte{}} // SMPServerOnlyHost
	short := func(scheme, typ string, srv UpQueue, id, key []byte) *upValue {
		return &upValue{UpQueue: &srv, Scheme: scheme, LinkType: typ, LinkID: id, LinkKey: key}
	}
	for _, s := range []struct {
		name, assertion, text string
		v                     *upValue
	}{
		{"CSLContact SLSServer CCTContact srv", "parse+print", "https://smp.simplex.im/a#" + lk + hq, short("https", "a", srvQ, nil, linkKey)},
		{"CSLContact SLSServer CCTGroup srv", "parse+print", "https://smp.simplex.im/g#" + lk + hq, short("https", "g", srvQ, nil, linkKey)},
		{"CSLContact SLSServer CCTContact shortSrv", "parse+print", "https://smp.simplex.im/a#" + lk, short("https", "a", shortSrvQ, nil, linkKey)},
		{"CSLInvitation SLSServer srv", "parse+print", "https://smp.simplex.im/i#" + lid + "/" + lk + hq, short("https", "i", srvQ, linkID, linkKey)},
		{"CSLInvitation SLSServer shortSrv", "parse+print", "https://smp.simplex.im/i#" + lid + "/" + lk, short("https", "i", shortSrvQ, linkID, linkKey)},
		{"CSLContact SLSSimplex CCTContact srv", "parse+print", "simplex:/a#" + lk + hqs, short("simplex", "a", srvQ, nil, linkKey)},
		{"CSLContact SLSSimplex CCTGroup srv", "parse+print", "simplex:/g#" + lk + hqs, short("simplex", "g", srvQ, nil, linkKey)},
		{"CSLContact SLSSimplex CCTContact shortSrv", "parse+print", "simplex:/a#" + lk + "?h=smp.simplex.im", short("simplex", "a", shortSrvQ, nil, linkKey)},
		{"CSLInvitation SLSSimplex srv", "parse+print", "simplex:/i#" + lid + "/" + lk + hqs, short("simplex", "i", srvQ, linkID, linkKey)},
		{"CSLInvitation SLSSimplex shortSrv", "parse+print", "simplex:/i#" + lid + "/" + lk + "?h=smp.simplex.im", short("simplex", "i", shortSrvQ, linkID, linkKey)},
		// strDecode'd in "should shorten / restore short links"; printed by the encoder's rule.
		{"lnk", "parse", "https://localhost/a#4AkRDmhf64tdRlN406g8lJRg5OCmhD6ynIhi6glOcCM?p=7001&c=LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI",
			short("https", "a", localQ, nil, rawURL("4AkRDmhf64tdRlN406g8lJRg5OCmhD6ynIhi6glOcCM"))},
		{"lnk'", "parse", "https://localhost/a#4AkRDmhf64tdRlN406g8lJRg5OCmhD6ynIhi6glOcCM",
			short("https", "a", localOnlyQ, nil, rawURL("4AkRDmhf64tdRlN406g8lJRg5OCmhD6ynIhi6glOcCM"))},
		{"inv", "parse", "https://localhost/i#tnUaHYp8saREmyEHR93SBpl8ySHBchOt/LJ1ZQUzxH9Udb0jw5wmJACv5o6oe8e7BsX_hUCUMTSY?p=7001&c=LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI",
			short("https", "i", localQ, rawURL("tnUaHYp8saREmyEHR93SBpl8ySHBchOt"), rawURL("LJ1ZQUzxH9Udb0jw5wmJACv5o6oe8e7BsX_hUCUMTSY"))},
		{"inv'", "parse", "https://localhost/i#tnUaHYp8saREmyEHR93SBpl8ySHBchOt/LJ1ZQUzxH9Udb0jw5wmJACv5o6oe8e7BsX_hUCUMTSY",
			short("https", "i", localOnlyQ, rawURL("tnUaHYp8saREmyEHR93SBpl8ySHBchOt"), rawURL("LJ1ZQUzxH9Udb0jw5wmJACv5o6oe8e7BsX_hUCUMTSY"))},
	} {
		add(upstreamCase{Source: srcConnReq, Name: s.name, Assertion: s.assertion, Kind: "short-link", Text: s.text, ParsesTo: s.v, PrintsAs: s.text, Ours: "same"})
	}

	// Relay addresses used as fixtures (fromString = strDecode).
	for _, s := range []struct {
		src, name, kind, text string
		kh                    []byte
		hosts                 []string
		port                  string
	}{
		{srcConnReq, "presetSrv", "server", "smp://LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=@localhost:7001", lcju, []string{"localhost"}, "7001"},
		{"simplexmq tests/SMPAgentClient.hs", "testSMPServer", "server", "smp://LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=@localhost:5001", lcju, []string{"localhost"}, "5001"},
		{"simplexmq tests/SMPAgentClient.hs", "testSMPServer2", "server", "smp://LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=@127.0.0.1:5002", lcju, []string{"127.0.0.1"}, "5002"},
		{"simplexmq tests/CoreTests/TSessionSubs.hs", "srv1", "server", "smp://1234-w==@alpha", keyHash, []string{"alpha"}, ""},
		{"simplexmq tests/CoreTests/TSessionSubs.hs", "srv2", "server", "smp://1234-w==@beta", keyHash, []string{"beta"}, ""},
		{"simplexmq tests/AgentTests/ServerChoice.hs", "testOp1Srv1", "server-auth", "smp://LcJU@test1.simplex.im", stdB64("LcJU"), []string{"test1.simplex.im"}, ""},
		{"simplexmq tests/AgentTests/ServerChoice.hs", "testOp1Srv2", "server-auth", "smp://LcJU@test2.simplex.im", stdB64("LcJU"), []string{"test2.simplex.im"}, ""},
		{"simplexmq tests/AgentTests/ServerChoice.hs", "testOp2Srv1", "server-auth", "smp://LcJU@srv1.example.com", stdB64("LcJU"), []string{"srv1.example.com"}, ""},
		{"simplexmq tests/AgentTests/ServerChoice.hs", "testOp2Srv2", "server-auth", "smp://LcJU@srv2.example.com", stdB64("LcJU"), []string{"srv2.example.com"}, ""},
	} {
		add(upstreamCase{Source: s.src, Name: s.name, Assertion: "value", Kind: s.kind, Text: s.text,
			ParsesTo: &upValue{UpQueue: &UpQueue{Hosts: s.hosts, Port: s.port, KeyHash: s.kh}}, PrintsAs: s.text, Ours: "same"})
	}

	// Keys used as fixtures (fromString: standard base64 of the SPKI; strEncode: base64url).
	for _, k := range []struct{ src, name, alg, text string }{
		{srcConnReq, "testDhKey", "x25519", "MCowBQYDK2VuAyEAjiswwI3O/NlS8Fk3HJUW870EY2bAwmttMBsvRB9eV3o="},
		{srcConnReq, "testDhPubKey", "x448", "MEIwBQYDK2VvAzkAmKuSYeQ/m0SixPDS8Wq8VBaTS1cW+Lp0n0h4Diu+kUpR+qXx4SDJ32YGEFoGFGSbGPry5Ychr6U="},
		{srcServerTests, "samplePubKey", "ed25519", "MCowBQYDK2VwAyEAfAOflyvbJv1fszgzkQ6buiZJVgSpQWsucXq7U6zjMgY="},
		{srcServerTests, "sampleDhPubKey", "x25519", "MCowBQYDK2VuAyEAriy+HcARIhqsgSjVnjKqoft+y6pxrxdY68zn4+LjYhQ="},
	} {
		der := stdB64(k.text)
		add(upstreamCase{Source: k.src, Name: k.name, Assertion: "value", Kind: "spki-base64", Text: k.text,
			ParsesTo: &upValue{Alg: k.alg, SPKI: der}, PrintsAs: base64.URLEncoding.EncodeToString(der), Ours: "same"})
	}
	// Message sizes checked by every encryption in DoubleRatchetTests.hs
	// (encrypt_ / checkLength) at the current version 3, padded body 100.
	const srcDR = "simplexmq tests/AgentTests/DoubleRatchetTests.hs"
	add(upstreamCase{Source: srcDR, Name: "fullMsgLen (PQSupportOff)", Assertion: "value", Kind: "ratchet-length", Case: Case{Spec: "GC-RATCHET-7"},
		Ratchet: &upRatchet{Version: 3, PaddedLen: 100, Length: 3 + (2 + 1 + 88 + 16 + 16) + 16 + 100}, Ours: "same"})
	add(upstreamCase{Source: srcDR, Name: "fullMsgLen (PQSupportOn)", Assertion: "value", Kind: "ratchet-length", Case: Case{Spec: "GC-PQ-1"},
		Ratchet: &upRatchet{Version: 3, PQSupport: true, PaddedLen: 100, Length: 3 + (2 + 1 + 2310 + 16 + 16) + 16 + 100},
		Ours:    "unsupported", Reason: "no sntrup761: post-quantum support is negotiated off (spec/graph-chat.md GC-PQ-1)"})
	return f, nil
}

// ratchetLength encrypts a body padded to r.PaddedLen with a fresh pair at
// r.Version and returns the message length.
func ratchetLength(r upRatchet) (int, error) {
	v := uint16(r.Version)
	k := func(l string) smpcrypto.PrivateKey {
		p, _ := smpcrypto.GenerateKey(smpcrypto.X448, Rand("upstream ratchet "+l))
		return p
	}
	rk1, rk2, sk1, sk2 := k("i1"), k("i2"), k("j1"), k("j2")
	init, err := ratchet.X3DHJoin(sk1, sk2, ratchet.Params{Version: v, Key1: rk1.Public(), Key2: rk2.Public()})
	if err != nil {
		return 0, err
	}
	j, err := ratchet.InitJoin(v, ratchet.VersionMax, rk2.Public(), k("j dh"), init)
	if err != nil {
		return 0, err
	}
	ct, err := j.Encrypt([]byte("hello"), r.PaddedLen)
	return len(ct), err
}

func queueValue(u smp.QueueURI) UpQueue {
	v := UpQueue{Hosts: u.Server.Hosts, Port: u.Server.Port, KeyHash: u.Server.KeyHash, SenderID: u.SenderID,
		Versions: []int{int(u.Versions.Min), int(u.Versions.Max)}, DHKey: u.DHKey.SPKI()}
	if u.Mode != nil {
		v.Mode = strings.ToLower(string(rune(*u.Mode)))
	}
	return v
}

// oursParse parses text with our code as kind says, returning the value
// and our printed form.
func oursParse(kind, text string) (*upValue, string, error) {
	switch kind {
	case "queue":
		u, err := smp.ParseQueueURI(text)
		if err != nil {
			return nil, "", err
		}
		v := queueValue(u)
		return &upValue{UpQueue: &v}, u.String(), nil
	case "server", "server-auth":
		var s smp.Server
		var printed string
		if kind == "server" {
			srv, err := smp.ParseServer(text)
			if err != nil {
				return nil, "", err
			}
			s, printed = srv, srv.String()
		} else {
			sa, err := smp.ParseServerWithAuth(text)
			if err != nil {
				return nil, "", err
			}
			s, printed = sa.Server, sa.String()
		}
		return &upValue{UpQueue: &UpQueue{Hosts: s.Hosts, Port: s.Port, KeyHash: s.KeyHash}}, printed, nil
	case "invitation":
		inv, err := agent.ParseInvitation(text)
		if err != nil {
			return nil, "", err
		}
		v := &upValue{AgentVersions: []int{int(inv.AgentVersions.Min), int(inv.AgentVersions.Max)},
			E2EVersions: []int{int(inv.E2EVersions.Min), int(inv.E2EVersions.Max)},
			E2EKey1:     inv.E2EKey1.SPKI(), E2EKey2: inv.E2EKey2.SPKI(), Data: inv.ClientData}
		for _, q := range inv.Queues {
			v.Queues = append(v.Queues, queueValue(q))
		}
		return v, inv.String(), nil
	case "contact":
		ct, err := agent.ParseContact(text)
		if err != nil {
			return nil, "", err
		}
		v := &upValue{AgentVersions: []int{int(ct.AgentVersions.Min), int(ct.AgentVersions.Max)}, Data: ct.ClientData}
		for _, q := range ct.Queues {
			v.Queues = append(v.Queues, queueValue(q))
		}
		return v, ct.String(), nil
	case "spki-base64":
		der, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return nil, "", err
		}
		k, err := smpcrypto.ParseSPKI(der)
		if err != nil {
			return nil, "", err
		}
		return &upValue{Alg: k.Alg.String(), SPKI: k.SPKI()}, smp.EncodeB64(k.SPKI()), nil
	case "short-link":
		l, err := agent.ParseShortLink(text)
		if err != nil {
			return nil, "", err
		}
		srv := UpQueue{Hosts: l.Server.Hosts, Port: l.Server.Port, KeyHash: l.Server.KeyHash}
		scheme := "simplex"
		if l.Web {
			scheme = "https"
		}
		return &upValue{UpQueue: &srv, Scheme: scheme, LinkType: string(l.Type), LinkID: l.LinkID, LinkKey: l.LinkKey}, l.String(), nil
	}
	return nil, "", fmt.Errorf("kind %q", kind)
}

func verifyUpstream(data []byte) error {
	return Check(data, func(c upstreamCase) string { return c.ID }, func(c upstreamCase) error {
		if c.Kind == "ratchet-length" {
			if c.Ratchet == nil {
				return errors.New("no ratchet field")
			}
			if c.Ours != "same" {
				if !c.Ratchet.PQSupport {
					return errors.New("only post-quantum sizes may be unsupported")
				}
				return nil
			}
			n, err := ratchetLength(*c.Ratchet)
			if err != nil {
				return err
			}
			if n != c.Ratchet.Length {
				return fmt.Errorf("%s: %d bytes, upstream %d", c.Name, n, c.Ratchet.Length)
			}
			return nil
		}
		got, printed, err := oursParse(c.Kind, c.Text)
		switch c.Ours {
		case "unsupported":
			if err == nil {
				return errors.New("parsed a form marked unsupported")
			}
			return nil
		case "same":
		default:
			return fmt.Errorf("ours %q", c.Ours)
		}
		if err != nil {
			return fmt.Errorf("%s (%s): %w", c.Name, c.Source, err)
		}
		if g, w := normJSON(rawJSON(got)), normJSON(rawJSON(c.ParsesTo)); g != w {
			return fmt.Errorf("%s: parsed to %s, upstream %s", c.Name, g, w)
		}
		if printed != c.PrintsAs {
			return fmt.Errorf("%s: printed %s, upstream %s", c.Name, printed, c.PrintsAs)
		}
		return nil
	})
}
