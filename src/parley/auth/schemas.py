from __future__ import annotations

from parley.schemas import InputModel, WireModel
from parley.users.schemas import UserOwn


class RegisterIn(InputModel):
    username: str
    email: str
    password: str
    display_name: str | None = None


class LoginIn(InputModel):
    username: str  # a username or an email
    password: str


class RefreshIn(InputModel):
    refresh_token: str


class Session(WireModel):
    """What register, login and refresh answer: the user and a fresh token pair."""

    user: UserOwn
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires
