package relay

// PrivateAddr exposes the SMP-PROXY-13 address check to tests.
var PrivateAddr = privateAddr

// OwnDestination exposes the own_server_domains match to tests.
var OwnDestination = ownDestination
