"""cephx-style authentication and authorization: keyrings, tickets, capabilities."""
