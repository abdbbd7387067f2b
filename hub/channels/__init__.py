"""Message channels: e-mail and SMS adapters."""
