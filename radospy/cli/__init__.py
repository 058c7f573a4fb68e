"""The `radospy` command and its tools (crushtool, osdmaptool, ...)."""
