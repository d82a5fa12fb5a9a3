-- The loaders' working tables (column maps, stg_*): dropped before the database is swapped in,
-- as they are not part of the database the app reads.
select table_name from information_schema.tables where table_type = 'BASE TABLE'
and (table_name like 'stg\_%' escape '\' or table_name = 'colmap')
