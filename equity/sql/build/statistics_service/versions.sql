-- The versions (lower case, trimmed) a statistics-service file names (slot: table).
select distinct lower(trim(version)) v from {table};
