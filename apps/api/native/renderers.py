"""DRF's browsable API with two touches: the signed-in person in its context, and forms that start from an example.

A view offers examples as ``example_bodies = {"POST": {...}}``; the raw-data form of that method then opens
with the example instead of an empty box (our views have no ``get_serializer`` for DRF to fill it from).
"""

import json

from django.contrib import auth
from rest_framework.renderers import BrowsableAPIRenderer


class BrowsableApiRenderer(BrowsableAPIRenderer):
    def get_raw_data_form(self, data, view, method, request):
        form = super().get_raw_data_form(data, view, method, request)
        example = getattr(view, "example_bodies", {}).get(method)
        if form is not None and example is not None and not form.fields["_content"].initial:
            form.fields["_content"].initial = json.dumps(example, indent=4, ensure_ascii=False)
        return form

    def get_context(self, data, accepted_media_type, renderer_context):
        context = super().get_context(data, accepted_media_type, renderer_context)
        # request.user is the App the request acts as (DRF copies it onto the Django request too); the person
        # behind the browser is the session's user, if any.
        django_request = getattr(context["request"], "_request", None)
        person = auth.get_user(django_request) if hasattr(django_request, "session") else None
        context["signed_in_user"] = person if person is not None and person.is_authenticated else None
        context["acting_app"] = getattr(context["request"], "user", None)
        return context
