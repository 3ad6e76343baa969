"""Writes of runbooks, their blocks and roles. Pages, the API and the admin all call these.

`runbooks` (create, update, archive), `blocks` (one block's edits, and the credential rule every
block change passes), `access` (roles) and `revision` (the lock and revision check every edit
takes).
"""
