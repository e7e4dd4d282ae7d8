"""Persistence on the one DynamoDB table: keys, table plumbing and the repositories."""
