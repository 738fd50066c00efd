"""Conversation flows: declarative steps over the engine; importing this package registers every flow."""

from bot.flows import (  # noqa: F401  (registration)
    access,
    desk,
    feedback,
    followup,
    menu,
    mine,
    privacy,
    understanding,
)
