// Package chatmsg encodes and decodes chat messages: the JSON events two chat
// clients exchange inside agent message bodies and connection info
// (spec/chat.md). It holds the container (version range, shared message id,
// event, params), every event this revision implements as a typed value, the
// body framings (single JSON, JSON batch, binary batch, zstd-compressed) and
// the size limits.
//
// Unknown events, unknown params and unknown fields of known objects are kept
// and re-encoded (CH-EXT-1); they are never an error. Encoding is canonical:
// the container keys in the order v, msgId, event, params, and every object
// inside params with its keys sorted, compact, as upstream's encoder writes
// them (CH-JSON-2). Parsers never panic; errors say what is wrong and where.
package chatmsg
