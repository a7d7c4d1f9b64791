"""The conformance kit's parts; `harness.testing` is its public face (`check_backend`)."""
