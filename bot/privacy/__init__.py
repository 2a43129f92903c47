"""Members' words are kept only as long as the alliance decided, and a member can erase them.

- :mod:`bot.privacy.retention`: the alliance file's ``retention: 18 months``, read and checked.
- :mod:`bot.privacy.purge`: the daily purge of what is older than that, and of expired files.
- :mod:`bot.privacy.erase`: ``mydata delete all``, after a confirmation.
- :mod:`bot.privacy.traces`: finding a member's words in outbox rows and files.

This package imports nothing here, so the alliance schema can use the retention parser alone.
"""
