"""`packer-registry`: the registry's command line, a client of its native HTTP API.

Not part of what Lambda runs (that is app.py and chalicelib/): stdlib only, except boto3 for
`upload`, which puts a manifest in the manifest bucket as any Packer pipeline would.
"""
