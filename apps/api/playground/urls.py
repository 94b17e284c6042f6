from django.urls import path

from apps.api.playground import views

app_session = "apps/<str:app_id>/sessions/<str:session_id>/"

urlpatterns = [
    path("", views.page, name="playground"),
    path("apps/<str:app_id>/cast", views.cast, name="playground-cast"),
    path("apps/<str:app_id>/sessions", views.session_open, name="playground-session-open"),
    path(app_session + "messages", views.message_send, name="playground-message-send"),
    path(app_session + "stream-token", views.stream_token, name="playground-stream-token"),
    path(app_session + "runs/<str:run_id>/context", views.run_context, name="playground-run-context"),
]
