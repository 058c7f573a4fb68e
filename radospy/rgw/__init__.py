"""The S3 gateway (RGW): sans-io protocol cores in `s3`, the aiohttp service on top."""
