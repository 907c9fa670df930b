from django.db import migrations, models
from django.db.models import F


def mark_existing_active_accounts_verified(apps, schema_editor):
    # Accounts active before verification existed were vouched for by whoever made them.
    User = apps.get_model("accounts", "User")
    User.objects.filter(is_active=True, email_verified_at=None).update(
        email_verified_at=F("date_joined")
    )


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_verified_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the owner followed a verification link. Empty: never verified.",
                null=True,
                verbose_name="e-mail verified at",
            ),
        ),
        migrations.RunPython(mark_existing_active_accounts_verified, migrations.RunPython.noop),
    ]
