"""The directory as `make run` serves it, checked over HTTP the way people and integrations meet it."""
