package smp

// CheckCredentials applies SMP-CRED-1: whether a command needs, allows or
// forbids an authorization and an entity id. It runs after parsing and
// before any lookup.
func CheckCredentials(c Command, hasAuth bool, entityID []byte) error {
	hasEntity := len(entityID) > 0
	switch c.(type) {
	case CmdNEW:
		if !hasAuth {
			return Errorf(CMDNoAuth, "NEW must be authorized")
		}
		if hasEntity {
			return Errorf(CMDHasAuth, "NEW must have an empty entity id")
		}
	case CmdSEND:
		if !hasEntity {
			return Errorf(CMDNoEntity, "SEND needs the sender id")
		}
	case CmdLGET, CmdPFWD:
		if !hasEntity {
			return Errorf(CMDNoEntity, "%s needs an entity id", c.Tag())
		}
		if hasAuth {
			return Errorf(CMDHasAuth, "%s must not be authorized", c.Tag())
		}
	case CmdPING, CmdPRXY, CmdRFWD:
		if hasAuth || hasEntity {
			return Errorf(CMDHasAuth, "%s must have no authorization and no entity id", c.Tag())
		}
	default:
		if !hasAuth || !hasEntity {
			return Errorf(CMDNoAuth, "%s needs an authorization and an entity id", c.Tag())
		}
	}
	return nil
}

// UsesServiceAuth reports whether a command carries the service signature
// in a service session (SMP-SVC-3): NEW, SUB and NSUB.
func UsesServiceAuth(c Command) bool {
	switch c.(type) {
	case CmdNEW, CmdSUB, CmdNSUB:
		return true
	}
	return false
}
