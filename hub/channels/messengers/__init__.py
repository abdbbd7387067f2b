"""Messenger channels: Telegram bots (python-telegram-bot), each message a touch."""
