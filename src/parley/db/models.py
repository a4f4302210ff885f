"""Every table, imported in one place so the metadata Alembic compares is complete."""

from parley.backends.models import RefreshToken
from parley.conversations.models import Conversation, Participant
from parley.db.base import Base
from parley.messages.models import Message
from parley.users.models import User

__all__ = ["Base", "Conversation", "Message", "Participant", "RefreshToken", "User"]
