"""Real peers for the tests, started on loopback by the tests themselves (OpenID providers on node,
SCIM services, slapd, a Graph stand-in ...), and the estates they are checked with."""
