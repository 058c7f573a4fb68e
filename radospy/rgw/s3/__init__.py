"""Sans-io S3 protocol cores: request authentication (SigV4, SigV2), aws-chunked bodies,
checksums, the XML documents, and listing semantics.

Nothing here opens a socket, reads a clock or touches storage: the gateway passes the
request parts, the current time and lookup callables in, and carries out what comes back.
"""
