"""Domain errors. web/errors.py maps each kind to ThingsBoard's HTTP status and errorCode."""

from __future__ import annotations

PERMISSION_DENIED = "You don't have permission to perform this operation!"


class DomainError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    """400, errorCode 31."""


class NotFound(DomainError):
    """404, errorCode 32."""


class PermissionDenied(DomainError):
    """403, errorCode 20."""

    def __init__(self, message: str = PERMISSION_DENIED) -> None:
        super().__init__(message)


class AuthenticationFailed(DomainError):
    """401, errorCode 10."""


class ReauthenticationRequired(AuthenticationFailed):
    """401, errorCode 10: the sign-in behind this session is too old for the change asked (2FA,
    an email address)."""

    def __init__(
        self, message: str = "Sign in again to change two-factor authentication settings"
    ) -> None:
        super().__init__(message)


class TokenExpired(DomainError):
    """401, errorCode 11."""

    def __init__(self, message: str = "Token has expired") -> None:
        super().__init__(message)


class CredentialsExpired(DomainError):
    """401, errorCode 15, with a resetToken field."""

    def __init__(self, message: str, reset_token: str) -> None:
        super().__init__(message)
        self.reset_token = reset_token


class PasswordViolation(DomainError):
    """401, errorCode 45."""


class TooManyRequests(DomainError):
    """429, errorCode 33."""

    def __init__(self, message: str = "Too many requests") -> None:
        super().__init__(message)


class VersionConflict(DomainError):
    """409, errorCode 35."""


class DeliveryFailed(DomainError):
    """500, errorCode 2: a transport refused or timed out. Nothing usable was stored."""


class ServiceUnavailable(DomainError):
    """503: a backing service (database, Redis) is unreachable; security decisions fail closed."""
