"""The native HTTP dialect (the original service's contract): protocol models, serving logic, routes.

docs/architecture.md, section "Where a new thing goes": openai/ and a1111/ sit beside it, each translating its own
request into the worker's one request and sharing the worker client, the error table and auth.
"""
