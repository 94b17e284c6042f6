from django.db import models


class Message(models.Model):
    session_id = models.BigIntegerField(db_index=True)
    role = models.CharField(max_length=16)
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.session_id}: {self.content[:20]}"
