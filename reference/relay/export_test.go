package relay

// PrivateAddr exposes the SMP-PROXY-13 address check to tests.
var PrivateAddr = privateAddr
