"""What every pytest the tests start in a subprocess (pytester's) leaves out."""

UNUSED_PLUGINS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
"""The cache, and hypothesis' plugin, which no inner suite uses and which costs 0.8 s of
each start of 1.8 s: a test suite of the user's runs with whatever plugins it has, and
these two change nothing the stubs do."""
