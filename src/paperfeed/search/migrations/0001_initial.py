"""The lexical index table of the engine in use (FTS5 on SQLite, tsvector on PostgreSQL),
filled from the papers already stored."""

from django.db import migrations


def create_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        from paperfeed.search.backends.postgres import CREATE, PostgresBackend

        statements, backend = CREATE, PostgresBackend()
    else:
        from paperfeed.search.backends.sqlite import CREATE, SqliteBackend

        statements, backend = [CREATE], SqliteBackend()
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    backend.rebuild()


def drop_index(apps, schema_editor):
    connection = schema_editor.connection
    table = "search_paper_tsv" if connection.vendor == "postgresql" else "search_paper_fts"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


class Migration(migrations.Migration):
    dependencies = [("papers", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
