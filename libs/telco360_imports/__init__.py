"""Reading files of rows and turning them into ingest Records: the column mapping and the file readers.

Shared by ingest's bulk importer (`python -m services.ingest.api.importer`) and `telco360 import`,
so both read the same mapping files. `mapping` documents the mapping format; `files` reads
CSV, JSON Lines and Parquet rows.
"""
