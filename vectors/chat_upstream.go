package vectors

import "strings"

// The literal encodings of upstream's tests/ProtocolTests.hs (simplex-chat,
// the stored version with supportedChatVRange 1-5), in file order. Each is
// checked as upstream checks it: "both" literals must parse and our encoding
// of the parsed message must be the same JSON value (upstream's ##==## and
// #==#); "parse" literals must parse (upstream's ==#).

const (
	upImg  = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgAAAAIAQMAAAD+wSzIAAAABlBMVEX///+/v7+jQ3Y5AAAADklEQVQI12P4AIX8EAgALgAD/aNpbtEAAAAASUVORK5CYII="
	upConn = "simplex:/invitation#/?v=1&smp=smp%3A%2F%2F1234-w%3D%3D%40smp.simplex.im%3A5223%2F3456-w%3D%3D%23%2F%3Fv%3D1-2%26dh%3DMCowBQYDK2VuAyEAjiswwI3O_NlS8Fk3HJUW870EY2bAwmttMBsvRB9eV3o%253D&e2e=v%3D1-2%26x3dh%3DMEIwBQYDK2VvAzkAmKuSYeQ_m0SixPDS8Wq8VBaTS1cW-Lp0n0h4Diu-kUpR-qXx4SDJ32YGEFoGFGSbGPry5Ychr6U%3D%2CMEIwBQYDK2VvAzkAmKuSYeQ_m0SixPDS8Wq8VBaTS1cW-Lp0n0h4Diu-kUpR-qXx4SDJ32YGEFoGFGSbGPry5Ychr6U%3D"
	upProf = `{"fullName":"Alice","displayName":"alice","image":"` + upImg + `","preferences":{"reactions":{"allow":"yes"},"voice":{"allow":"yes"}}}`
	upQuot = `"quote":{"content":{"text":"hello there!","type":"text"},"msgRef":{"msgId":"BQYHCA==","sent":true,"sentAt":"1970-01-01T00:00:01.000000001Z"}}`
	upGInv = `"connRequest":"` + upConn + `","invitedMember":{"memberRole":"member","memberId":"BQYHCA=="},"groupProfile":{"fullName":"Team","displayName":"team","groupPreferences":{"reactions":{"enable":"on"},"voice":{"enable":"on"}}},"fromMember":{"memberRole":"admin","memberId":"AQIDBA=="}`
	upMemI = `"memberInfo":{"memberRole":"admin","memberId":"AQIDBA==","profile":` + upProf + `}`
	upMemV = `"memberInfo":{"memberRole":"admin","memberId":"AQIDBA==","v":"1-5","profile":` + upProf + `}`
)

type upstreamLiteral struct {
	name string // the it "..." text
	mode string // both | parse
	json string
}

func upMsg(event, params string) string {
	return `{"v":"1","event":"` + event + `","params":{` + params + `}}`
}

func upMsgID(v, params string) string {
	return `{"v":"` + v + `","msgId":"AQIDBA==","event":"x.msg.new","params":{` + params + `}}`
}

var upstreamLiterals = []upstreamLiteral{
	{"x.msg.new simple text", "both", upMsg("x.msg.new", `"content":{"text":"hello","type":"text"}`)},
	{"x.msg.new simple text - timed message TTL", "both", upMsg("x.msg.new", `"content":{"text":"hello","type":"text"},"ttl":3600`)},
	{"x.msg.new simple text - live message", "both", upMsg("x.msg.new", `"content":{"text":"hello","type":"text"},"live":true`)},
	{"x.msg.new simple link", "both", upMsg("x.msg.new", `"content":{"text":"https://simplex.chat","type":"link","preview":{"description":"SimpleX Chat","image":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAgA","title":"SimpleX Chat","uri":"https://simplex.chat"}}`)},
	{"x.msg.new simple image", "both", upMsg("x.msg.new", `"content":{"text":"","type":"image","image":"`+upImg+`"}`)},
	{"x.msg.new simple image with text", "both", upMsg("x.msg.new", `"content":{"text":"here's an image","type":"image","image":"`+upImg+`"}`)},
	{"x.msg.new chat message", "both", upMsgID("1", `"content":{"text":"hello","type":"text"}`)},
	{"x.msg.new chat message with chat version range", "both", upMsgID("1-5", `"content":{"text":"hello","type":"text"}`)},
	{"x.msg.new quote", "both", upMsgID("1", `"content":{"text":"hello to you too","type":"text"},`+upQuot)},
	{"x.msg.new quote - timed message TTL", "both", upMsgID("1", `"content":{"text":"hello to you too","type":"text"},`+upQuot+`,"ttl":3600`)},
	{"x.msg.new quote - live message", "both", upMsgID("1", `"content":{"text":"hello to you too","type":"text"},`+upQuot+`,"live":true`)},
	{"x.msg.new forward", "both", upMsgID("1", `"content":{"text":"hello","type":"text"},"forward":true`)},
	{"x.msg.new forward - timed message TTL", "both", upMsgID("1", `"content":{"text":"hello","type":"text"},"forward":true,"ttl":3600`)},
	{"x.msg.new forward - live message", "both", upMsgID("1", `"content":{"text":"hello","type":"text"},"forward":true,"live":true`)},
	{"x.msg.new simple text with file", "both", upMsg("x.msg.new", `"content":{"text":"hello","type":"text"},"file":{"fileSize":12345,"fileName":"photo.jpg"}`)},
	{"x.msg.new simple file with file", "both", upMsg("x.msg.new", `"content":{"text":"","type":"file"},"file":{"fileSize":12345,"fileName":"file.txt"}`)},
	{"x.msg.new quote with file", "both", upMsgID("1", `"content":{"text":"hello to you too","type":"text"},`+upQuot+`,"file":{"fileSize":12345,"fileName":"photo.jpg"}`)},
	{"x.msg.new forward with file", "both", upMsgID("1", `"content":{"text":"hello","type":"text"},"forward":true,"file":{"fileSize":12345,"fileName":"photo.jpg"}`)},
	{"x.msg.update", "both", upMsg("x.msg.update", `"msgId":"AQIDBA==", "content":{"text":"hello","type":"text"}`)},
	{"x.msg.del", "both", upMsg("x.msg.del", `"msgId":"AQIDBA=="`)},
	{"x.msg.deleted", "both", upMsg("x.msg.deleted", ``)},
	{"x.file", "both", upMsg("x.file", `"file":{"fileConnReq":"`+upConn+`","fileSize":12345,"fileName":"photo.jpg"}`)},
	{"x.file without file invitation", "both", upMsg("x.file", `"file":{"fileSize":12345,"fileName":"photo.jpg"}`)},
	{"x.file.acpt", "both", upMsg("x.file.acpt", `"fileName":"photo.jpg"`)},
	{"x.file.acpt.inv", "both", upMsg("x.file.acpt.inv", `"msgId":"AQIDBA==","fileName":"photo.jpg","fileConnReq":"`+upConn+`"`)},
	{"x.file.acpt.inv", "both", upMsg("x.file.acpt.inv", `"msgId":"AQIDBA==","fileName":"photo.jpg"`)},
	{"x.file.cancel", "both", upMsg("x.file.cancel", `"msgId":"AQIDBA=="`)},
	{"x.info", "both", upMsg("x.info", `"profile":`+upProf)},
	{"x.info with empty full name", "both", upMsg("x.info", `"profile":{"fullName":"","displayName":"alice","preferences":{"reactions":{"allow":"yes"},"voice":{"allow":"yes"}}}`)},
	{"x.contact with xContactId", "both", upMsg("x.contact", `"contactReqId":"AQIDBA==","profile":`+upProf)},
	{"x.contact without XContactId", "both", upMsg("x.contact", `"profile":`+upProf)},
	{"x.contact with content null", "parse", upMsg("x.contact", `"content":null,"profile":`+upProf)},
	{"x.contact with content (ignored)", "parse", upMsg("x.contact", `"content":{"text":"hello","type":"text"},"profile":`+upProf)},
	{"x.grp.inv", "both", upMsg("x.grp.inv", `"groupInvitation":{`+upGInv+`}`)},
	{"x.grp.inv with group link id", "both", upMsg("x.grp.inv", `"groupInvitation":{`+upGInv+`, "groupLinkId":"AQIDBA=="}`)},
	{"x.grp.acpt without incognito profile", "both", upMsg("x.grp.acpt", `"memberId":"AQIDBA=="`)},
	{"x.grp.mem.new", "both", upMsg("x.grp.mem.new", upMemI)},
	{"x.grp.mem.new with member chat version range", "both", upMsg("x.grp.mem.new", upMemV)},
	{"x.grp.mem.intro", "both", upMsg("x.grp.mem.intro", upMemI)},
	{"x.grp.mem.intro with member chat version range", "both", upMsg("x.grp.mem.intro", upMemV)},
	{"x.grp.mem.inv", "both", upMsg("x.grp.mem.inv", `"memberId":"AQIDBA==","memberIntro":{"directConnReq":"`+upConn+`","groupConnReq":"`+upConn+`"}`)},
	{"x.grp.mem.inv w/t directConnReq", "both", upMsg("x.grp.mem.inv", `"memberId":"AQIDBA==","memberIntro":{"groupConnReq":"`+upConn+`"}`)},
	{"x.grp.mem.fwd", "both", upMsg("x.grp.mem.fwd", `"memberIntro":{"directConnReq":"`+upConn+`","groupConnReq":"`+upConn+`"},`+upMemI)},
	{"x.grp.mem.fwd with member chat version range and w/t directConnReq", "both", upMsg("x.grp.mem.fwd", `"memberIntro":{"groupConnReq":"`+upConn+`"},`+upMemV)},
	{"x.grp.mem.info", "both", upMsg("x.grp.mem.info", `"memberId":"AQIDBA==","profile":`+upProf)},
	{"x.grp.mem.con", "both", upMsg("x.grp.mem.con", `"memberId":"AQIDBA=="`)},
	{"x.grp.mem.con.all", "both", upMsg("x.grp.mem.con.all", `"memberId":"AQIDBA=="`)},
	{"x.grp.mem.del", "both", upMsg("x.grp.mem.del", `"memberId":"AQIDBA=="`)},
	{"x.grp.leave", "parse", upMsg("x.grp.leave", ``)},
	{"x.grp.del", "parse", upMsg("x.grp.del", ``)},
	{"x.grp.direct.inv", "both", upMsg("x.grp.direct.inv", `"connReq":"`+upConn+`", "content":{"text":"hello","type":"text"}`)},
	{"x.grp.direct.inv without content", "both", upMsg("x.grp.direct.inv", `"connReq":"`+upConn+`"`)},
	{"x.info.probe", "both", upMsg("x.info.probe", `"probe":"AQIDBA=="`)},
	{"x.info.probe.check", "both", upMsg("x.info.probe.check", `"probeHash":"AQIDBA=="`)},
	{"x.info.probe.ok", "both", upMsg("x.info.probe.ok", `"probe":"AQIDBA=="`)},
	{"x.ok", "parse", upMsg("x.ok", ``)},
}

// upstreamID makes a stable case id from a literal's test name.
func upstreamID(i int, name string) string {
	r := strings.NewReplacer(" - ", "-", " ", "-", "/", "", "(", "", ")", "", ".", "-")
	return "upstream-" + strings.ToLower(r.Replace(name)) + "-" + itoa2(i+1)
}

func itoa2(i int) string {
	return string([]byte{byte('0' + i/10), byte('0' + i%10)})
}
