-- Whether the database holds a table of this name. Parameter: the name.
select count(*) from information_schema.tables where table_name = ?
