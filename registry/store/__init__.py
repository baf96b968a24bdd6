"""The artifact store: model files in S3-compatible object storage under content-addressed keys
(`plan` decides what to upload, `s3` speaks the protocol, `upload` sends one file verified,
`publish` runs a publication). boto3 is imported only here, and only when a store is used."""
