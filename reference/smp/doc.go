// Package smp is the SMP wire codec for protocol versions 6 to 18
// (spec/smp.md): transmissions and their signed bytes, blocks and batches,
// every command, response and error, handshake hellos, message bodies, and
// server addresses. It is pure: no I/O, no clocks, randomness only through
// io.Reader arguments.
//
// Every decoder returns a *ProtocolError carrying the ERR a relay must answer
// (BLOCK, CMD SYNTAX, CMD UNKNOWN, ...), never panics, and allocates no more
// than its input justifies.
package smp
