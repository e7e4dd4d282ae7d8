"""Use cases: one function per API action or workflow step."""
