"""The load test (issue 8): see __main__.py."""
