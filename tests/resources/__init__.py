"""Per-namespace tests: wire format, decoding, documented errors and validation."""
