"""All I/O, one module per outside party."""
