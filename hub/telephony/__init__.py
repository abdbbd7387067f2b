"""Telephony: the asyncio AMI client, the call assembler and click-to-call for Asterisk."""
