package muc

import "cusax.dev/bridge/store"

// Role is an occupant's temporary standing in a room (XEP-0045 section 5.1).
type Role string

// The roles of XEP-0045 section 5.1, in rising order of privilege.
const (
	RoleNone        Role = "none"
	RoleVisitor     Role = "visitor"
	RoleParticipant Role = "participant"
	RoleModerator   Role = "moderator"
)

func (r Role) rank() int {
	switch r {
	case RoleVisitor:
		return 1
	case RoleParticipant:
		return 2
	case RoleModerator:
		return 3
	}
	return 0
}

func (r Role) valid() bool {
	return r == RoleNone || r == RoleVisitor || r == RoleParticipant || r == RoleModerator
}

// affRank orders affiliations: outcast < none < member < admin < owner.
func affRank(a store.Affiliation) int {
	switch a {
	case store.AffiliationOutcast:
		return -1
	case store.AffiliationMember:
		return 1
	case store.AffiliationAdmin:
		return 2
	case store.AffiliationOwner:
		return 3
	}
	return 0
}

// defaultRole is the role an affiliation gets on entering (XEP-0045 5.1.1).
func defaultRole(a store.Affiliation, moderated bool) Role {
	switch a {
	case store.AffiliationOwner, store.AffiliationAdmin:
		return RoleModerator
	case store.AffiliationMember:
		return RoleParticipant
	case store.AffiliationOutcast:
		return RoleNone
	}
	if moderated {
		return RoleVisitor
	}
	return RoleParticipant
}
