"""Messenger channels: Telegram bots (python-telegram-bot) and WhatsApp Cloud API numbers, each message a touch."""
