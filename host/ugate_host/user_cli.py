"""`ugate user ...`: the users who sign in with a password
(`<config-dir>/users.json`, see `ugate.hub.users`).

Passwords are read from stdin (one line) or, on a terminal, from a prompt
(twice), never from the command line; only their hash is written. A running
gateway notices the change at once; removing a user ends their sessions.
"""
import asyncio
import os

from ugate.hub.tokens import TokenStore
from ugate.hub.users import Users
from ugate_host.hono_cli import read_password


def users(args):
    os.makedirs(args.config_dir, mode=0o700, exist_ok=True)  # it holds password hashes
    return Users(args.config_dir, TokenStore(args.config_dir))


def cmd_user(args):
    store = users(args)
    if args.action == "create":
        user = asyncio.run(store.create(args.name or args.username, args.username, read_password()))
        print("created {}{}".format(user["username"], " (the owner)" if user["is_owner"] else ""))
    elif args.action == "list":
        for u in store.all():
            print("\t".join((u["username"], u["name"], "owner" if u.get("is_owner") else "user",
                             u.get("created_at", ""))))
    elif args.action == "password":
        asyncio.run(store.set_password(args.username, read_password()))
    else:
        store.remove(args.username)


def add_parser(sub):
    user = sub.add_parser("user", help="manage the users who sign in with a password",
                          description="Users of the sign-in page and of OAuth2 clients (the companion "
                          "apps). The first user is the owner. Passwords come from a prompt or one line "
                          "of stdin and are stored as PBKDF2-HMAC-SHA256 hashes.")
    usub = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = usub.add_parser("create", help="add a user (the first is the owner)")
    create.add_argument("username")
    create.add_argument("--name", help="the name shown for the user (default: the username)")
    lst = usub.add_parser("list", help="usernames, names, roles and creation times")
    password = usub.add_parser("password", help="set a user's password")
    password.add_argument("username")
    remove = usub.add_parser("remove", help="remove a user (not the owner); their sign-ins end")
    remove.add_argument("username")
    for sp in (create, lst, password, remove):
        sp.add_argument("--config-dir", required=True, help="the gateway's config directory")
    user.set_defaults(func=cmd_user)
