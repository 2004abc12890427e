"""The routes' handlers, one module per kind of message (see bot/dialogue/routes.py)."""
