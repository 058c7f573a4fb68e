"""The messenger: framed, checksummed, authenticated sessions that survive reconnects.

Sans-io cores (`frame`, `session`, `messages`, `auth`) hold the protocol; `connection`
and `messenger` are the thin asyncio shell around them.
"""

from radospy.msg.auth import Authenticator, AuthResult, AuthStep, ClientAuth, NoAuth, ServerAuth
from radospy.msg.config import MessengerConfig
from radospy.msg.connection import Connection, ConnectionClosed, RequestTimeout
from radospy.msg.frame import FrameError, FrameTooLarge
from radospy.msg.messages import (
    REGISTRY,
    ErrorReply,
    MalformedMessage,
    Message,
    MessageRegistry,
    Ping,
    Pong,
    message,
)
from radospy.msg.messenger import Dispatcher, Messenger

__all__ = [
    "REGISTRY",
    "AuthResult",
    "AuthStep",
    "Authenticator",
    "ClientAuth",
    "Connection",
    "ConnectionClosed",
    "Dispatcher",
    "ErrorReply",
    "FrameError",
    "FrameTooLarge",
    "MalformedMessage",
    "Message",
    "MessageRegistry",
    "Messenger",
    "MessengerConfig",
    "NoAuth",
    "Ping",
    "Pong",
    "RequestTimeout",
    "ServerAuth",
    "message",
]
