"""The Telegram channel against a fake Bot API server."""
