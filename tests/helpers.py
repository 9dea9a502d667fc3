"""Small helpers shared by the test modules."""

import socket

from django.test import Client


def logged_in(user) -> Client:
    """A test client with `user` logged in (session auth, as in the admin)."""
    client = Client()
    client.force_login(user)
    return client


def staff(user):
    """The user, made staff (admin access still depends on tenant roles or permissions)."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def closed_port() -> int:
    """A local port nobody listens on: a dependency pointed there is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
