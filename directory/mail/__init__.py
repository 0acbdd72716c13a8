"""The auto-reply as e-mail (CONTRACT §5): an SMTP responder that mail servers can use safely.

`rules` decides when to stay silent (RFC 3834, RFC 5230), `compose` writes the reply, `store`
keeps the shared memory, queue and counters in the database, `responder` receives and sends.
"""
