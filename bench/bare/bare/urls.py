from django.urls import path

from bare.views import MessageCreateApi

urlpatterns = [path("messages", MessageCreateApi.as_view())]
