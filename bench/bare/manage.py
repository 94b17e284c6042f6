#!/usr/bin/env python
"""manage.py of the bare reference project (see bench/bare/bare/settings.py)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bare.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
