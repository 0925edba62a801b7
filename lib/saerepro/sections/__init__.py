"""Per-section parameter schemas and the job lists built from them."""
