-- The first school row of a statistics-service file whose URN is not a whole number (slot: table).
select _row, school_urn from {table} where geographic_level = 'School'
and try_cast(trim(school_urn) as integer) is null order by _row limit 1;
