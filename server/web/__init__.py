"""HTTP plumbing: hashed assets, gzip, security headers and limits, addresses (imports core)."""
