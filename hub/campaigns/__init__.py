"""Campaigns: segments of contacts (filter language and its SQL), later recipients and sending."""
