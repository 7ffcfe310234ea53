"""One module per provider: its wire format (a Provider) and its public auth classes."""
