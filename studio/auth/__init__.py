"""Optional sign-in: the users file, its roles and the command line that edits it (``python -m studio.auth``)."""
from .users import ADMIN, MEMBER, ROLES, AuthFileError, User, UserFile, hash_password

__all__ = ["ADMIN", "MEMBER", "ROLES", "AuthFileError", "User", "UserFile", "hash_password"]
