"""Offline sync between a desktop's embedded database and the school's server.

- ``server``: set a plain PostgreSQL up as the school's sync server, register devices;
- ``link``: the desktop's connection to it, errors in words;
- ``push``: local changes from the change capture, one server transaction per local one;
- ``pull``: the server's changes by snapshot cursor, and the first copy of a school;
- ``engine``: one sync (copy, push, pull) and the loop that keeps syncing;
- ``conflicts``: what could not be merged, for a person to decide.

The merge itself runs on the server (``rollbook_sync_push``, migration 0014): per column
against the base value this desktop saw, deletes never silent, every operation once.
"""
