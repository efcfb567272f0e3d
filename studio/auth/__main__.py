"""Edit a sign-in file: ``python -m studio.auth add-user users.yaml NAME --role member``.

The password is asked for (twice) on a terminal, or read as one line from stdin otherwise, so it
never appears in the shell history or the process list.
"""
from __future__ import annotations

import argparse
import getpass
import sys

from .users import MEMBER, ROLES, AuthFileError, UserFile, hash_password


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio.auth", description="Manage Studio's sign-in file")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-user", help="add a user (creates the file when missing)")
    add.add_argument("file")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default=MEMBER)
    password = commands.add_parser("set-password", help="give a user a new password")
    password.add_argument("file")
    password.add_argument("name")
    role = commands.add_parser("set-role", help="make a user admin or member")
    role.add_argument("file")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    remove = commands.add_parser("remove-user", help="remove a user")
    remove.add_argument("file")
    remove.add_argument("name")
    commands.add_parser("hash-password", help="print a bcrypt hash of a password (for editing the file by hand)")
    args = parser.parse_args(argv)
    try:
        if args.command == "hash-password":
            print(hash_password(_read_password()))
            return 0
        users = UserFile(args.file)
        if args.command == "add-user":
            users.add_user(args.name, _read_password(), args.role)
            print(f"Added {args.name} ({args.role}) to {users.path}")
        elif args.command == "set-password":
            users.set_password(args.name, _read_password())
            print(f"New password set for {args.name}")
        elif args.command == "set-role":
            users.set_role(args.name, args.role)
            print(f"{args.name} is now {args.role}")
        else:
            users.remove_user(args.name)
            print(f"Removed {args.name}")
    except AuthFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise AuthFileError("the two passwords differ")
    return first


if __name__ == "__main__":
    sys.exit(main())
