"""Write every encrypted field again with the first FIELD_ENCRYPTION_KEY (the last step of a key rotation)."""

from django.apps import apps
from django.core.management.base import BaseCommand

from apps.core.secrets import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every EncryptedTextField value with the first key of FIELD_ENCRYPTION_KEY."

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            names = [field.name for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
            if not names:
                continue
            for row in model._default_manager.all().only("pk", *names).iterator(chunk_size=500):
                row.save(update_fields=names)  # read decrypts with any key; the write encrypts with the first
                total += 1
        self.stdout.write(f"Re-encrypted {total} rows.")
