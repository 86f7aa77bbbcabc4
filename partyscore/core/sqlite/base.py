"""The embedded SQLite database, with bulk writes batched to the limit SQLite really has.

Django 5.2 assumes every SQLite build allows only 999 parameters per statement, so a bulk insert of
more than about 76 rows of a 13-column table (a branch's year totals, a meeting's attendance) is
sent as several statements. SQLite has allowed 32,766 since 3.32 (Debian builds allow 250,000), and
the running library reports its own limit; we take that, capped at 32,766 so every supported build
batches alike. (Django 6.0 reads the limit the same way.)
"""

import sqlite3

from django.db.backends.sqlite3 import base, features
from django.utils.functional import cached_property

MODERN_DEFAULT = 32766


class DatabaseFeatures(features.DatabaseFeatures):
    @cached_property
    def max_query_params(self):
        self.connection.ensure_connection()
        return min(self.connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER), MODERN_DEFAULT)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
