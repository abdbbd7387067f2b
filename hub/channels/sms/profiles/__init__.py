"""Shipped HTTP SMS provider profiles (TOML), read by `hub.channels.sms.http_profile`."""
