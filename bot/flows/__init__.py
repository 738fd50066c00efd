"""Conversation flows: declarative steps over the engine; importing this package registers every flow."""

from bot.flows import access, desk, feedback, followup, menu, mine, understanding  # noqa: F401  (registration)
