"""The AWS deployment: CloudFormation merged into ``chalice package``, and the packaging step."""
