"""The OSD: its object store, the op engine, and (later) the daemon that drives them."""
