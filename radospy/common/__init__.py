"""Types, errors and configuration shared by every radospy package."""
