"""The admin site under Dramatis's name: ``DramatisAdminConfig`` (in INSTALLED_APPS in place of
``django.contrib.admin``) makes ``DramatisAdminSite`` the default site, so ``admin.site`` and every
``@admin.register`` use it unchanged."""

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig


class DramatisAdminSite(AdminSite):
    site_header = "Dramatis"
    site_title = "Dramatis administration"
    index_title = "Dramatis administration"


class DramatisAdminConfig(AdminConfig):
    default_site = "apps.core.admin_site.DramatisAdminSite"
